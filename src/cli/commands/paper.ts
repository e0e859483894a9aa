import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import chalk from 'chalk';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { TARGETS } from '../../export/footprint.js';
import { PAPER_PRESET } from '../../model/autoencoder.js';
import { PAPER_JSON, PAPER_MD, paperMarkdown, runPaper, type PaperTable } from '../../paper/paper.js';
import { createProgress, type Progress } from '../../report/progress.js';
import { SWEEP_PROTOCOLS, type SweepProtocol } from '../../sweep/protocol.js';
import { DEFAULT_TARGET_DB } from '../../sweep/report.js';
import { addCsvOptions, addThreadsOption, choiceOption, givenOnCommandLine, intOption, numberOption, positiveOption, threadsOption } from '../options.js';
import { setRunDefaults } from '../../train/steppers.js';
import { addPruneOptions, gridOption, pruneRequest, type PruneFlags } from '../prune-options.js';
import { onInterrupt } from '../interrupt.js';
import { action, printJson } from '../run.js';
import { addTrainOptions, denseSources, GIVEN_MODEL_FLAGS, TRAIN_FLAGS, type GivenModelFlags, type TrainFlags } from '../train-options.js';

/** Grids measured for the `paper-wide` preset (README, "The paper's claim"). */
export const PAPER_GRIDS: Record<SweepProtocol, number[]> = {
  // Cheap (no training): fine at both ends, where the MAC layer keeps the target and where the
  // MAM layer's first step leaves it.
  papers: [0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.85, 0.88, 0.9, 0.92, 0.94, 0.96],
  // 16 epochs of fine-tuning a point: around the 60-70% the dense tail must lose to fit 2 MB.
  finetune: [0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9],
};

export const PAPER_FINE_TUNE_LR = 3e-4;

interface PaperFlags extends GivenModelFlags, Omit<TrainFlags, 'kind'>, Omit<PruneFlags, 'prunedAs' | 'batchSize' | 'seed'> {
  out: string;
  target: string;
  part: string;
  protocols: string;
  papersGrid?: string;
  finetuneGrid?: string;
  tail?: string;
  mcu: boolean;
  mamStart: string;
  mamLr: string;
  jobs?: string;
  threads?: string;
  json?: boolean;
}

// The directory is --out, a protocol's grid --<protocol>-grid; it trains MAC (--lr) and MAM
// (--mam-lr, from the MAC model's weights with --mam-start) models and fine-tunes them (--fine-tune-lr).
export const PAPER_FLAGS = {
  ...TRAIN_FLAGS, ...GIVEN_MODEL_FLAGS, dir: '--out', from: '--mam-start',
  'grids.papers': '--papers-grid', 'grids.finetune': '--finetune-grid', sparsity: '--papers-grid or --finetune-grid',
  learningRate: '--lr, --mam-lr or --fine-tune-lr',
};

export function register(program: Command): void {
  const cmd = program
    .command('paper')
    .description('the paper\'s claim in one run: train a MAC and a MAM model, sweep both protocols, and tabulate per kind the sparsest tail at the target ASNR, its flash and RAM, whether it fits the part, and its instructions on the emulated Cortex-M7')
    .argument('[recordings...]', 'CSV files, WFDB records (NAME.hea or NAME) or directories to train on (default: synthetic ECG); not used with --mac-model/--mam-model')
    .requiredOption('--out <dir>', `directory for the models, both sweeps, the firmware builds, ${PAPER_JSON} and ${PAPER_MD} (run again to resume)`)
    .option('--target <dB>', 'the ASNR the tails must keep', String(DEFAULT_TARGET_DB))
    .option('--part <name>', `the microcontroller: ${Object.keys(TARGETS).join(', ')}`, 'stm32f767zi')
    .option('--protocols <names>', `which sweeps, in order: ${SWEEP_PROTOCOLS.join(',')}`, SWEEP_PROTOCOLS.join(','))
    .option('--papers-grid <sparsities>', `the papers protocol's grid (default ${PAPER_GRIDS.papers.join(',')})`)
    .option('--finetune-grid <sparsities>', `the finetune protocol's grid (default ${PAPER_GRIDS.finetune.join(',')})`)
    .option('--tail <k>', 'layers that run on the device (default: the decoder and the output layer)')
    .option('--no-mcu', 'skip building and running the tails on the emulated Cortex-M7')
    .option('--mam-start <how>', 'scratch: both models at once from random weights (measured best: README, "The paper\'s claim"); mac: the MAM model from the trained MAC model\'s weights (mam train --from), after it', 'scratch')
    .option('--mam-lr <rate>', 'the MAM model\'s learning rate (measured: 3e-4 trains a wide MAM layer far better than 3e-3, from either start)', '3e-4')
    .option('--jobs <n>', 'models pruned at once (default: 2 if the machine has 2 cores, else 1)')
    .option('--mac-model <dir>', 'use this trained MAC model instead of training one (with --mam-model)')
    .option('--mam-model <dir>', 'use this trained MAM model instead of training one (with --mac-model)')
    .option('--json', `print ${PAPER_JSON} on stdout`);
  addThreadsOption(cmd, 'training threads of each job (default: the cores shared out between the jobs)');
  addTrainOptions(cmd, { kind: false, preset: PAPER_PRESET });
  // A network trained down to lr 1e-6 loses its minimum at the training rate (README, "The paper's claim").
  addPruneOptions(cmd, { own: false, dropUnselected: true, fineTuneLr: PAPER_FINE_TUNE_LR });
  addCsvOptions(cmd).action(action(async (csv: string[], flags: PaperFlags, command: Command) => {
    const protocols = [...new Set(flags.protocols.split(',').map((p) => choiceOption('--protocols', p.trim(), SWEEP_PROTOCOLS)))];
    const targetDb = numberOption('--target', flags.target, String(DEFAULT_TARGET_DB));
    const jobs = flags.jobs === undefined ? Math.min(2, availableParallelism()) : intOption('--jobs', flags.jobs, '2', 1);
    const papersGrid = flags.papersGrid === undefined ? PAPER_GRIDS.papers : gridOption('--papers-grid', flags.papersGrid);
    const finetuneGrid = flags.finetuneGrid === undefined ? PAPER_GRIDS.finetune : gridOption('--finetune-grid', flags.finetuneGrid);
    const prune = pruneRequest({ ...flags, prunedAs: undefined });
    const fixed = givenOnCommandLine(command, (n) => ['schedule', 'steps', 'fineTuneEpochs', 'fineTuneLr'].includes(n));
    if (!protocols.includes('finetune') && fixed.length > 0) throw new UsageError(`${fixed.join(', ')} only apply to the finetune protocol: add it to --protocols or remove them`);
    const { layers, ...rest } = prune;
    setRunDefaults({ threads: threadsOption(flags.threads) }); // the trainings before the sweeps
    const models = await denseSources(csv, flags, command);
    const mamStart = choiceOption('--mam-start', flags.mamStart, ['mac', 'scratch'] as const);
    const mamLr = positiveOption('--mam-lr', flags.mamLr, '3e-4');
    const trained = 'train' in models.mam;
    if ('train' in models.mam) models.mam.train.options.learningRate = mamLr;
    const ignored = givenOnCommandLine(command, (n) => ['mamStart', 'mamLr'].includes(n));
    if (!trained && ignored.length > 0) throw new UsageError(`with --mac-model and --mam-model the models are given: remove ${ignored.join(', ')}`);
    // Given models keep their own --pruned-as unless it is asked for; trained ones use the option.
    if (command.getOptionValueSource('prunedAs') === 'cli' || trained) prune.prunedAs = choiceOption('--pruned-as', flags.prunedAs, ['zero', 'absent'] as const);
    let progress: Progress | undefined;
    const log = (text: string) => (progress ? progress.line(text) : process.stderr.write(`${text}\n`));
    const stop = onInterrupt(log, 'after the current training step or sweep point; run the same command to resume');
    const table = await runPaper({
      dir: flags.out, models, targetDb, protocols, part: flags.part, mcu: flags.mcu, jobs, backend: tf.getBackend(),
      grids: { papers: papersGrid, finetune: finetuneGrid },
      prune: rest,
      ...(mamStart === 'mac' ? { mamFromMac: { learningRate: mamLr } } : {}),
      ...(layers.length > 0 ? { layers: { papers: layers, finetune: layers } } : {}),
      ...(flags.tail !== undefined ? { tail: intOption('--tail', flags.tail, '4', 1) } : {}),
      ...(flags.threads !== undefined ? { threads: threadsOption(flags.threads) } : {}),
      signal: stop.signal,
    }, {
      log,
      training: (kind) => {
        progress?.done();
        progress = undefined;
        return {
        log,
        shouldStop: () => stop.requested,
        onStep: (state, loss, totalSteps) => {
          progress ??= createProgress({ total: totalSteps - state.step + 1, label: `training ${kind.toUpperCase()}` });
          progress.tick(1, `epoch ${state.epoch + 1}, loss ${loss.toFixed(5)}`);
        },
        onEpoch: (_s, r) => {
          if (r.epoch % 10 === 0) log(`${kind}: epoch ${r.epoch}: validation ASNR ${r.valAsnrDb.toFixed(2)} dB`);
        },
        };
      },
      sweep: (protocol) => ({
        log,
        start: (total) => { progress?.done(); progress = total > 0 ? createProgress({ total, label: `${protocol} sweep` }) : undefined; },
        tick: (units) => progress?.tick(units),
      }),
    });
    progress?.done();
    progress = undefined;
    if (!table) {
      process.stderr.write('stopped: run the same command again to resume\n');
      stop.setExitCode();
      return;
    }
    if (flags.json) printJson(table);
    else process.stdout.write(formatTable(table, flags.out));
  }, { flags: PAPER_FLAGS }));
}

function formatTable(t: PaperTable, dir: string): string {
  return `${chalk.bold(dir)}: ${PAPER_JSON}, ${PAPER_MD} (${(t.seconds / 60).toFixed(1)} minutes this run)\n\n${paperMarkdown(t)}`;
}
