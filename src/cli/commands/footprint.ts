import chalk from 'chalk';
import type { Command } from 'commander';
import { MamError } from '../../errors.js';
import { footprint, TARGETS, type Footprint } from '../../export/footprint.js';
import { exportNetwork } from '../../export/network.js';
import { loadAutoencoder } from '../../prune/session.js';
import { intOption } from '../options.js';
import { action, printJson } from '../run.js';

interface FootprintFlags {
  model: string;
  tail?: string;
  target: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('footprint')
    .description('flash and RAM of a model (or its tail) as the C export stores it, and whether it fits a microcontroller')
    .requiredOption('--model <dir>', 'model directory written by mam train or mam prune')
    .option('--tail <k>', 'only the last K layers (the part that runs on the device)')
    .option('--target <part>', `the microcontroller: ${Object.entries(TARGETS).map(([k, t]) => `${k} (${t.core}, ${t.flashBytes / 1024} KB flash, ${t.ramBytes / 1024} KB RAM)`).join(', ')}`, 'stm32f767zi')
    .option('--json', 'print one JSON object: flash_bytes, ram_bytes, arena_bytes, fits, over, target, layers')
    .action(action(async (flags: FootprintFlags) => {
      const target = TARGETS[flags.target.toLowerCase()];
      if (!target) throw new MamError(`--target ${flags.target}: unknown part; choose one of ${Object.keys(TARGETS).join(', ')}`);
      const tail = flags.tail === undefined ? undefined : intOption('--tail', flags.tail, '2', 1);
      const { model, metadata } = await loadAutoencoder(flags.model);
      const fp = footprint(exportNetwork(model, metadata.data.pipeline, tail), target);
      if (flags.json) printJson(fp);
      else process.stdout.write(formatFootprint(fp, flags.model));
    }));
}

function formatFootprint(fp: Footprint, dir: string): string {
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
  const mark = (bytes: number, chosen: boolean) => `${bytes}${chosen ? '*' : ' '}`;
  const line = (c: string[]) => [c[0]!.padEnd(7), c[1]!.padEnd(4), c[2]!.padEnd(8), ...c.slice(3).map((x) => x.padStart(10))].join(' ');
  const lines = [
    `${chalk.bold(dir)} on the ${fp.target.name} (${fp.target.core}, ${kb(fp.target.flashBytes)} flash, ${kb(fp.target.ramBytes)} RAM)`,
    chalk.dim(line(['layer', 'kind', 'shape', 'params', 'non-zeros', 'dense B', 'CSR B', 'bitmap B', 'flash B', 'mul', 'add', 'compare'])),
    ...fp.layers.map((l) => line([
      l.name, l.kind, `${l.inputSize}x${l.outputSize}`, String(l.parameters), String(l.nonzeros),
      mark(l.storage.dense, l.storage.chosen === 'dense'), mark(l.storage.csr, l.storage.chosen === 'csr'), `${l.storage.bitmap} `,
      String(l.flashBytes), String(l.ops.multiplies), String(l.ops.adds), String(l.ops.compares),
    ])),
    chalk.dim('* the storage the C export uses (the smaller of dense and CSR; CSR when pruned MAM connections are absent)'),
    `flash (weights and biases): ${fp.flash_bytes} bytes (${kb(fp.flash_bytes)}, ${(100 * fp.flash_bytes / fp.target.flashBytes).toFixed(1)}% of ${kb(fp.target.flashBytes)})`,
    `RAM (activation arena ${fp.arena_bytes} bytes, input and output buffers): ${fp.ram_bytes} bytes (${kb(fp.ram_bytes)}, ${(100 * fp.ram_bytes / fp.target.ramBytes).toFixed(1)}% of ${kb(fp.target.ramBytes)})`,
    fp.fits ? chalk.green(`fits the ${fp.target.name}`) : chalk.red(`does not fit the ${fp.target.name}: ${fp.over.join(', ')}`),
  ];
  return `${lines.join('\n')}\n`;
}
