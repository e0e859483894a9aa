import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { checkCPrefix } from '../../export/c.js';
import { kept } from '../../export/network.js';
import { C_TOLERANCE, checkC, exportModel, JSON_FILE, renderExport } from '../../export/session.js';
import { addQuantizeOptions, choiceOption, intOption, quantizeOptions, type QuantizeFlags } from '../options.js';
import { action, printJson } from '../run.js';
import { writeOutput } from '../write.js';

interface ExportFlags extends QuantizeFlags {
  model: string;
  format: string;
  out: string;
  tail?: string;
  golden: string;
  check?: boolean;
  json?: boolean;
  prefix: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('export')
    .description('write a trained (pruned) model for a microcontroller: the JSON format (schema/mam-export.schema.json) or C99 (<prefix>_model.h, <prefix>_model.c); or for plain TensorFlow.js (model.json, weights.bin)')
    .requiredOption('--model <dir>', 'model directory written by mam train or mam prune')
    .requiredOption('--out <path>', 'json: the file to write (- for stdout); c: the directory to write mam_model.h and mam_model.c into; tfjs: the directory to write model.json and weights.bin as (replaced whole)')
    .option('--format <format>', 'json, c or tfjs (a tfjs LayersModel: Dense layers for MAC, MamDense for MAM)', 'json')
    .option('--tail <k>', 'export only the last K layers (the part that runs on the device)')
    .option('--golden <n>', 'c: test windows whose inputs and outputs go into the export as golden vectors', '4')
    .option('--prefix <name>', 'c: the prefix of every public name (<name>_infer, <NAME>_INPUT_SIZE, ...) and of the files <name>_model.h/.c, so that two models link into one firmware', 'mam')
    .option('--json', 'print one JSON object on stdout: format, files, weights, nonzeros, layers (name, kind, C storage or tfjs class), check')
    .option('--check', `c: compile the export with the host's C compiler (-std=c99 -Wall -Wextra -Werror) and check mam_infer against the golden vectors (float: tolerance ${C_TOLERANCE} relative; int8: bit for bit the integer reference)`);
  addQuantizeOptions(cmd, 'json, c: export')
    .action(action(async (flags: ExportFlags, command: Command) => {
      const format = choiceOption('--format', flags.format, ['json', 'c', 'tfjs'] as const);
      const quantize = quantizeOptions(flags);
      if (quantize && format === 'tfjs') throw new UsageError('--quantize int8 takes the json or c format: the tfjs export is float32 (tfjs layers compute in float)');
      if (flags.check && format !== 'c') throw new UsageError('--check compiles the C export: give --format c');
      if (command.getOptionValueSource('prefix') === 'cli' && format !== 'c') throw new UsageError('--prefix names the C export\'s symbols: give --format c');
      const prefix = checkCPrefix(flags.prefix);
      const toStdout = flags.out === '-';
      if (toStdout && format !== 'json') throw new UsageError(`--out - (stdout) takes the JSON format only: the ${format} export is a directory of files; give a directory to --out`);
      if (toStdout && flags.json) throw new UsageError('--out - writes the export to stdout, where --json would print its summary: drop one of them');
      const tail = flags.tail === undefined ? undefined : intOption('--tail', flags.tail, '2', 1);
      const request = { model: flags.model, format, out: flags.out, tail, golden: intOption('--golden', flags.golden, '4', 1), prefix, quantize };
      let outcome;
      if (toStdout) {
        const rendered = await renderExport(request);
        await writeOutput('-', [rendered.contents[JSON_FILE] as string], '--out');
        outcome = rendered;
      } else {
        outcome = await exportModel(request);
      }
      const layers = outcome.network.layers;
      const weights = layers.reduce((n, l) => n + l.mask.length, 0);
      const nonzeros = layers.reduce((n, l) => n + kept(l), 0);
      // What each layer became: its C storage, or its tfjs class.
      const as = (i: number) => outcome.c?.storages[i]!.storage ?? outcome.tfjs?.classes[i];
      process.stderr.write(`wrote ${toStdout ? 'the JSON export to stdout' : outcome.files.join(', ')}: ${layers.length} layers (${layers.map((l, i) => `${l.name} ${l.kind}${as(i) ? ` ${as(i)}` : ''}`).join(', ')}), ${nonzeros} of ${weights} weights kept${outcome.int8 ? `, int8 (weight scales per ${outcome.int8.weightScales === 'channel' ? 'output neuron' : 'layer'})` : ''}\n`);
      if (outcome.tfjs) process.stderr.write(`${tfjsNote(outcome.tfjs.mamLayers)}\n`);
      let check: Record<string, unknown> | null = null;
      if (flags.check) {
        const r = checkC(flags.out, prefix);
        process.stderr.write(r.int8
          ? `check: ${r.vectors} golden windows, ${r.mismatches} outputs differ from the integer reference (int8 values and float32 bits): ${r.passed ? 'passed, bit for bit' : 'FAILED'}\n`
          : `check: ${r.vectors} golden windows, largest difference from tfjs ${r.worstRelativeError.toExponential(2)} of the window's largest output (tolerance ${C_TOLERANCE}): ${r.passed ? 'passed' : 'FAILED'}\n`);
        if (!r.passed) process.exitCode = 1;
        check = r.int8
          ? { vectors: r.vectors, mismatches: r.mismatches, bit_for_bit: true, passed: r.passed }
          : { vectors: r.vectors, worst_relative_error: r.worstRelativeError, tolerance: C_TOLERANCE, passed: r.passed };
      }
      if (flags.json) {
        printJson({
          format, files: outcome.files, weights, nonzeros, ...(outcome.int8 ? { quantize: 'int8', weight_scales: outcome.int8.weightScales } : {}),
          layers: layers.map((l, i) => ({ name: l.name, kind: l.kind, ...(outcome.c ? { storage: outcome.c.storages[i]!.storage } : {}), ...(outcome.tfjs ? { class: outcome.tfjs.classes[i] } : {}) })),
          ...(outcome.tfjs ? { needs_mam_dense: outcome.tfjs.mamLayers } : {}),
          check,
        });
      }
    }));
}

/** Whether plain tfjs loads the export, or which layers need mam's MamDense class first. */
function tfjsNote(mamLayers: string[]): string {
  if (mamLayers.length === 0) return 'tfjs: standard Dense layers only: plain @tensorflow/tfjs loads it (tf.loadLayersModel)';
  return `tfjs: ${mamLayers.join(', ')} ${mamLayers.length === 1 ? 'is' : 'are'} MamDense, which has no standard tfjs equivalent: import mam-ecg (it registers MamDense) before tf.loadLayersModel`;
}
