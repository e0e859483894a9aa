import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { checkCPrefix } from '../../export/c.js';
import { kept } from '../../export/network.js';
import { ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT } from '../../export/onnx.js';
import { C_TOLERANCE, checkC, EXPORT_FORMATS, exportModel, renderExport, SINGLE_FILE } from '../../export/session.js';
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
    .description('write a trained (pruned) model for a microcontroller: the JSON format (schema/mam-export.schema.json) or C99 (<prefix>_model.h, <prefix>_model.c); or for plain TensorFlow.js (model.json, weights.bin); or as ONNX (one .onnx file of standard operators)')
    .requiredOption('--model <dir>', 'model directory written by mam train or mam prune')
    .requiredOption('--out <path>', 'json, onnx: the file to write (- for stdout); c: the directory to write mam_model.h and mam_model.c into; tfjs: the directory to write model.json and weights.bin as (replaced whole)')
    .option('--format <format>', 'json, c, tfjs (a tfjs LayersModel: Dense layers for MAC, MamDense for MAM) or onnx (opset 13, standard operators only)', 'json')
    .option('--tail <k>', 'export only the last K layers (the part that runs on the device)')
    .option('--golden <n>', 'c: test windows whose inputs and outputs go into the export as golden vectors', '4')
    .option('--prefix <name>', 'c: the prefix of every public name (<name>_infer, <NAME>_INPUT_SIZE, ...) and of the files <name>_model.h/.c, so that two models link into one firmware', 'mam')
    .option('--json', 'print one JSON object on stdout: format, files, weights, nonzeros, layers (name, kind, C storage or tfjs class), check (onnx: opset)')
    .option('--check', `c: compile the export with the host's C compiler (-std=c99 -Wall -Wextra -Werror) and check mam_infer against the golden vectors (float: tolerance ${C_TOLERANCE} relative; int8: bit for bit the integer reference)`);
  addQuantizeOptions(cmd, 'json, c: export')
    .action(action(async (flags: ExportFlags, command: Command) => {
      const format = choiceOption('--format', flags.format, EXPORT_FORMATS);
      const quantize = quantizeOptions(flags);
      if (quantize && (format === 'tfjs' || format === 'onnx')) throw new UsageError(`--quantize int8 takes the json or c format: the ${format} export is float32`);
      if (flags.check && format !== 'c') throw new UsageError('--check compiles the C export: give --format c');
      if (command.getOptionValueSource('prefix') === 'cli' && format !== 'c') throw new UsageError('--prefix names the C export\'s symbols: give --format c');
      const prefix = checkCPrefix(flags.prefix);
      const toStdout = flags.out === '-';
      const file = SINGLE_FILE[format];
      if (toStdout && !file) throw new UsageError(`--out - (stdout) takes the JSON and ONNX formats only: the ${format} export is a directory of files; give a directory to --out`);
      if (toStdout && format === 'onnx' && process.stdout.isTTY) throw new UsageError('--out - would write the binary ONNX model to the terminal: redirect stdout (> model.onnx) or give a file to --out');
      if (toStdout && flags.json) throw new UsageError('--out - writes the export to stdout, where --json would print its summary: drop one of them');
      const tail = flags.tail === undefined ? undefined : intOption('--tail', flags.tail, '2', 1);
      const request = { model: flags.model, format, out: flags.out, tail, golden: intOption('--golden', flags.golden, '4', 1), prefix, quantize };
      let outcome;
      if (toStdout) {
        const rendered = await renderExport(request);
        await writeOutput('-', [rendered.contents[file!]!], '--out');
        outcome = rendered;
      } else {
        outcome = await exportModel(request);
      }
      const layers = outcome.network.layers;
      const weights = layers.reduce((n, l) => n + l.mask.length, 0);
      const nonzeros = layers.reduce((n, l) => n + kept(l), 0);
      // What each layer became: its C storage, or its tfjs class.
      const as = (i: number) => outcome.c?.storages[i]!.storage ?? outcome.tfjs?.classes[i];
      process.stderr.write(`wrote ${toStdout ? `the ${format.toUpperCase()} export to stdout` : outcome.files.join(', ')}: ${layers.length} layers (${layers.map((l, i) => `${l.name} ${l.kind}${as(i) ? ` ${as(i)}` : ''}`).join(', ')}), ${nonzeros} of ${weights} weights kept${outcome.int8 ? `, int8 (weight scales per ${outcome.int8.weightScales === 'channel' ? 'output neuron' : 'layer'})` : ''}\n`);
      if (outcome.tfjs) process.stderr.write(`${tfjsNote(outcome.tfjs.mamLayers)}\n`);
      if (format === 'onnx') {
        process.stderr.write(`onnx: opset ${ONNX_OPSET}, standard operators only; input "${ONNX_INPUT}" [batch, ${layers[0]!.inputSize}] (${outcome.network.skipped === 0 ? 'a preprocessed window' : `the activations before ${layers[0]!.name}`}), output "${ONNX_OUTPUT}" [batch, ${layers.at(-1)!.outputSize}]\n`);
      }
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
          ...(format === 'onnx' ? { opset: ONNX_OPSET } : {}),
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
