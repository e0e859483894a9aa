import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import chalk from 'chalk';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { createProgress, type Progress } from '../../report/progress.js';
import { PROTOCOL_DESCRIPTIONS, SWEEP_PROTOCOLS } from '../../sweep/protocol.js';
import { DEFAULT_GRID, DEFAULT_TARGET_DB, type KindAtTarget, type SweepSummary } from '../../sweep/report.js';
import { runSweep, SWEEP_CSV, SWEEP_JSON, SWEEP_SVG } from '../../sweep/sweep.js';
import { addCsvOptions, addQuantizeOptions, addThreadsOption, choiceOption, givenOnCommandLine, intOption, numberOption, quantizeOptions, threadsOption, type QuantizeFlags } from '../options.js';
import { addPruneOptions, gridOption, pruneRequest, type PruneFlags } from '../prune-options.js';
import { onInterrupt } from '../interrupt.js';
import { action, printJson } from '../run.js';
import { addTrainOptions, denseSources, recipeLine, GIVEN_MODEL_FLAGS, TRAIN_FLAGS, type GivenModelFlags, type TrainFlags } from '../train-options.js';

interface SweepFlags extends QuantizeFlags, GivenModelFlags, Omit<TrainFlags, 'kind'>, Omit<PruneFlags, 'prunedAs' | 'batchSize' | 'seed'> {
  out: string;
  protocol: string;
  grid?: string;
  target: string;
  jobs?: string;
  threads?: string;
  json?: boolean;
}

// The sweep's directory is --out, its sparsities --grid; it trains (--lr) and fine-tunes (--fine-tune-lr).
export const SWEEP_FLAGS = { ...TRAIN_FLAGS, ...GIVEN_MODEL_FLAGS, dir: '--out', sparsity: '--grid', learningRate: '--lr or --fine-tune-lr' };

export function register(program: Command): void {
  const cmd = program
    .command('sweep')
    .description('prune a MAC and a MAM model of the same shape along a grid of sparsities and compare their test ASNR (the MAM papers\' central figure)')
    .argument('[recordings...]', 'CSV files, WFDB records (NAME.hea or NAME) or directories to train on (default: synthetic ECG); not used with --mac-model/--mam-model')
    .requiredOption('--out <dir>', `sweep directory: ${SWEEP_JSON}, ${SWEEP_CSV}, ${SWEEP_SVG} and the models (run again to resume)`)
    .option('--protocol <name>', `how each point is pruned: ${SWEEP_PROTOCOLS.map((p) => `${p} (${PROTOCOL_DESCRIPTIONS[p]})`).join('; ')}`, 'finetune')
    .option('--grid <sparsities>', `sparsities to prune to, e.g. 0,0.5,0.9 (default ${DEFAULT_GRID.join(',')})`)
    .option('--target <dB>', 'the ASNR to meet: the fewest remaining weights that still reach it are compared', String(DEFAULT_TARGET_DB))
    .option('--jobs <n>', 'models pruned at once (default: 2 if the machine has 2 cores, else 1)')
    .option('--mac-model <dir>', 'use this trained MAC model instead of training one (with --mam-model)')
    .option('--mam-model <dir>', 'use this trained MAM model instead of training one (with --mac-model)')
    .option('--json', 'print sweep.json\'s summary as one JSON object on stdout');
  addThreadsOption(cmd, 'training threads of each job (default: the cores shared out between the jobs)');
  addTrainOptions(cmd, { kind: false });
  addPruneOptions(cmd, { own: false });
  addQuantizeOptions(addCsvOptions(cmd), 'also measure each point\'s').action(action(async (csv: string[], flags: SweepFlags, command: Command) => {
    const quantize = quantizeOptions(flags);
    const grid = gridOption('--grid', flags.grid ?? DEFAULT_GRID.join(','));
    const targetDb = numberOption('--target', flags.target, String(DEFAULT_TARGET_DB));
    const jobs = flags.jobs === undefined ? Math.min(2, availableParallelism()) : intOption('--jobs', flags.jobs, '2', 1);
    const prunedAs = choiceOption('--pruned-as', flags.prunedAs, ['zero', 'absent'] as const);
    const protocol = choiceOption('--protocol', flags.protocol, SWEEP_PROTOCOLS);
    if (protocol === 'papers') {
      const fixed = givenOnCommandLine(command, (name) => ['schedule', 'steps', 'fineTuneEpochs', 'fineTuneLr'].includes(name));
      if (fixed.length > 0) throw new UsageError(`--protocol papers prunes each point in one shot from the dense model, without fine-tuning: remove ${fixed.join(', ')} (or use --protocol finetune)`);
    }
    const models = await denseSources(csv, flags, command);
    let progress: Progress | undefined;
    const log = (text: string) => (progress ? progress.line(text) : process.stderr.write(`${text}\n`));
    const stop = onInterrupt(log, 'after the current training step or sweep point; run the same command to resume');
    const recipe = 'train' in models.mac ? recipeLine(csv, models.mac.train.spec.preset) : undefined;
    if (recipe) log(recipe);
    // Given models keep their own --pruned-as unless it is asked for; trained ones use the option.
    const prunedAsGiven = command.getOptionValueSource('prunedAs') === 'cli' || !('dir' in models.mam);
    const file = await runSweep({
      dir: flags.out, grid, targetDb, protocol, jobs, models, backend: tf.getBackend(), signal: stop.signal,
      ...(quantize ? { quantize } : {}),
      ...(flags.threads !== undefined ? { threads: threadsOption(flags.threads) } : {}),
      prune: { ...pruneRequest({ ...flags, prunedAs: undefined }), ...(prunedAsGiven ? { prunedAs } : {}) },
    }, {
      log,
      start: (total) => { if (total > 0) progress = createProgress({ total, label: 'sweep' }); },
      tick: (units) => progress?.tick(units),
    });
    progress?.done();
    const missing = grid.length * 2 - file.points.filter((p) => grid.includes(p.sparsity)).length;
    if (missing > 0) process.stderr.write(`stopped with ${missing} points to go: run the same command again to resume\n`);
    if (flags.json) printJson(file.summary);
    else process.stdout.write(formatSummary(file.summary, flags.out));
    if (missing > 0) stop.setExitCode();
  }, { flags: SWEEP_FLAGS }));
}

function formatSummary(s: SweepSummary, dir: string): string {
  const pct = (k: KindAtTarget) => (k.best ? `${k.best.remaining_pct.toPrecision(3)}% (${k.best.nonzeros} weights, ${k.best.asnr_db.toFixed(2)} dB${k.best.int8_asnr_db !== undefined ? `, int8 ${k.best.int8_asnr_db.toFixed(2)} dB` : ''})` : 'none of its points');
  const dense = (k: KindAtTarget) => (k.dense_asnr_db === null ? '' : chalk.dim(`; dense ${k.dense_asnr_db.toFixed(2)} dB`));
  const ratio = (r: number | null) => (r === null ? 'MAC/MAM: - (both must reach it)' : `MAC/MAM: ${r.toFixed(1)}x the weights`);
  const lines = [
    `${chalk.bold(dir)}: ${SWEEP_JSON}, ${SWEEP_CSV}, ${SWEEP_SVG}`,
    `protocol ${s.protocol}: ${PROTOCOL_DESCRIPTIONS[s.protocol]}`,
    `fewest remaining weights at ASNR >= ${s.target_db} dB:`,
    ...s.kinds.map((k) => `  ${k.kind.toUpperCase()}: ${pct(k)}${dense(k)}`),
    `  ${ratio(s.ratio_mac_mam)}`,
    `fewest remaining weights within ${s.drop_db} dB of their own dense model:`,
    ...s.relative.map((k) => `  ${k.kind.toUpperCase()}: ${pct(k)}`),
    `  ${ratio(s.ratio_mac_mam_relative)}`,
  ];
  return `${lines.join('\n')}\n`;
}
