import { join, resolve } from 'node:path';
import chalk from 'chalk';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { findTarget, footprint, TARGETS, type Footprint, type Target } from '../../export/footprint.js';
import type { Precision } from '../../export/storage.js';
import { exportNetwork, kept } from '../../export/network.js';
import { loadAutoencoder } from '../../model/metadata.js';
import { formatTable, numberColumn } from '../../report/table.js';
import { summarizeSweep, type SweepPoint } from '../../sweep/report.js';
import { loadSweepFile, SWEEP_JSON } from '../../sweep/sweep.js';
import { addQuantizeOptions, intOption, numberOption, quantizeOptions, type QuantizeFlags } from '../options.js';
import { action, printJson } from '../run.js';

interface FootprintFlags extends QuantizeFlags {
  model?: string;
  sweep?: string;
  asnr?: string;
  tail?: string;
  target: string;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('footprint')
    .description('flash and RAM of a model (or its tail) as the C export stores it, and whether it fits a microcontroller')
    .option('--model <dir>', 'model directory written by mam train or mam prune')
    .option('--sweep <dir>', 'instead of --model: for each kind of a mam sweep, its sparsest point that reaches --asnr')
    .option('--asnr <dB>', 'with --sweep: the ASNR the points must reach (default: the target the sweep was made with, 32.6)')
    .option('--tail <k>', 'only the last K layers (the part that runs on the device)')
    .option('--target <part>', `the microcontroller: ${Object.entries(TARGETS).map(([k, t]) => `${k} (${t.core}, ${t.flashBytes / 1024} KB flash, ${t.ramBytes / 1024} KB RAM)`).join(', ')}`, 'stm32f767zi')
    .option('--json', 'print one JSON object: flash_bytes, ram_bytes, arena_bytes, fits, over, target, precision, layers');
  addQuantizeOptions(cmd, 'the bill of')
    .action(action(async (flags: FootprintFlags) => {
      const target = findTarget(flags.target);
      // Storage does not depend on the scales: no calibration needed for the bill.
      const precision = quantizeOptions(flags) ? 'int8' : 'float32';
      const tail = flags.tail === undefined ? undefined : intOption('--tail', flags.tail, '2', 1);
      if ((flags.model === undefined) === (flags.sweep === undefined)) throw new UsageError('give --model DIR (one model) or --sweep DIR (the MAC and MAM points of a sweep)');
      if (flags.sweep !== undefined) {
        const asnr = flags.asnr === undefined ? undefined : numberOption('--asnr', flags.asnr, '30');
        const rows = await sweepFootprints(flags.sweep, asnr, tail, target, precision);
        if (flags.json) printJson(rows);
        else process.stdout.write(formatSweepFootprints(rows));
        return;
      }
      const { model, metadata } = await loadAutoencoder(flags.model!);
      const fp = footprint(exportNetwork(model, metadata.data.pipeline, tail), target, precision);
      if (flags.json) printJson(fp);
      else process.stdout.write(formatFootprint(fp, flags.model!));
    }));
}

interface SweepFootprints {
  sweep: string;
  asnr_db: number;
  target: Target;
  kinds: Array<{ kind: string; point: SweepPoint | null; flash_bytes: number | null; ram_bytes: number | null; fits: boolean | null; nonzeros: number | null }>;
}

/** Per kind, the sparsest sweep point at or above `asnr` dB (default: the sweep's target), and its footprint. */
async function sweepFootprints(dir: string, asnr: number | undefined, tail: number | undefined, target: Target, precision: Precision): Promise<SweepFootprints> {
  const file = await loadSweepFile(join(dir, SWEEP_JSON), 'give the --out directory of a mam sweep');
  const level = asnr ?? file.summary.target_db;
  const summary = summarizeSweep(file.protocol, file.points, level);
  const kinds = [];
  for (const k of summary.kinds) {
    if (!k.best) {
      kinds.push({ kind: k.kind, point: null, flash_bytes: null, ram_bytes: null, fits: null, nonzeros: null });
      continue;
    }
    const { model, metadata } = await loadAutoencoder(resolve(dir, k.best.model));
    const net = exportNetwork(model, metadata.data.pipeline, tail);
    const fp = footprint(net, target, precision);
    kinds.push({ kind: k.kind, point: k.best, flash_bytes: fp.flash_bytes, ram_bytes: fp.ram_bytes, fits: fp.fits, nonzeros: net.layers.reduce((n, l) => n + kept(l), 0) });
    model.dispose();
  }
  return { sweep: dir, asnr_db: level, target, kinds };
}

function formatSweepFootprints(r: SweepFootprints): string {
  const lines = [
    `${chalk.bold(r.sweep)}: the sparsest point of each kind with test ASNR >= ${r.asnr_db} dB, on the ${r.target.name} (${r.target.flashBytes / 1024} KB flash, ${r.target.ramBytes / 1024} KB RAM)`,
    ...formatTable(
      [
        { header: 'kind', width: 5 }, numberColumn('sparsity', 9), numberColumn('ASNR dB', 8), numberColumn('non-zeros', 10),
        numberColumn('flash B', 10), numberColumn('RAM B', 8), { header: 'fits', gap: 2 },
      ],
      r.kinds.map((k) => (k.point
        ? [k.kind.toUpperCase(), k.point.sparsity.toString(), k.point.asnr_db.toFixed(2), String(k.nonzeros), String(k.flash_bytes), String(k.ram_bytes), k.fits ? 'yes' : 'no']
        : { cells: [k.kind.toUpperCase()], note: `no point reaches ${r.asnr_db} dB` })),
      { styleHeader: chalk.dim },
    ),
  ];
  return `${lines.join('\n')}\n`;
}

function formatFootprint(fp: Footprint, dir: string): string {
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
  const mark = (bytes: number, chosen: boolean) => `${bytes}${chosen ? '*' : ' '}`;
  const columns = [
    { header: 'layer', width: 7 }, { header: 'kind', width: 4 }, { header: 'shape', width: 8 },
    ...['params', 'non-zeros', 'dense B', 'CSR B', 'bitmap B', 'flash B', 'mul', 'add', 'compare'].map((h) => numberColumn(h, 10)),
  ];
  const lines = [
    `${chalk.bold(dir)}${fp.precision === 'int8' ? ' in int8' : ''} on the ${fp.target.name} (${fp.target.core}, ${kb(fp.target.flashBytes)} flash, ${kb(fp.target.ramBytes)} RAM)`,
    ...formatTable(columns, fp.layers.map((l) => [
      l.name, l.kind, `${l.inputSize}x${l.outputSize}`, String(l.parameters), String(l.nonzeros),
      mark(l.storage.dense, l.storage.chosen === 'dense'), mark(l.storage.csr, l.storage.chosen === 'csr'), `${l.storage.bitmap} `,
      String(l.flashBytes), String(l.ops.multiplies), String(l.ops.adds), String(l.ops.compares),
    ]), { styleHeader: chalk.dim }),
    chalk.dim('* the storage the C export uses (the smaller of dense and CSR; CSR when pruned MAM connections are absent)'),
    `flash (weights and biases${fp.precision === 'int8' ? ', requantisation' : ''}): ${fp.flash_bytes} bytes (${kb(fp.flash_bytes)}, ${(100 * fp.flash_bytes / fp.target.flashBytes).toFixed(1)}% of ${kb(fp.target.flashBytes)})`,
    `RAM (activation arena ${fp.arena_bytes} bytes, input and output buffers): ${fp.ram_bytes} bytes (${kb(fp.ram_bytes)}, ${(100 * fp.ram_bytes / fp.target.ramBytes).toFixed(1)}% of ${kb(fp.target.ramBytes)})`,
    fp.fits ? chalk.green(`fits the ${fp.target.name}`) : chalk.red(`does not fit the ${fp.target.name}: ${fp.over.join(', ')}`),
  ];
  return `${lines.join('\n')}\n`;
}
