// The pruning options that `mam prune` and `mam sweep` share, declared and parsed in one place.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { DEFAULT_PRUNE_OPTIONS, type PruneRequest, type PruneScope } from '../prune/pruner.js';
import { SCHEDULE_KINDS } from '../prune/schedule.js';
import { SCORE_KINDS } from '../prune/scores.js';
import { choiceOption, intOption, numberOption, positiveOption, seedOption } from './options.js';
import type { FlagNames } from './run.js';

export interface PruneFlags {
  schedule: string;
  steps: string;
  fineTuneEpochs: string;
  scope: string;
  score: string;
  layers?: string;
  exclude?: string;
  fineTuneLr: string;
  dropUnselected?: boolean;
  prunedAs?: string;
  batchSize?: string;
  seed?: string;
}

const d = DEFAULT_PRUNE_OPTIONS;

/** The pruning settings whose flags are not their --kebab-case (see FlagNames): the fine-tuning's learning rate. */
export const PRUNE_FLAGS: FlagNames = { learningRate: '--fine-tune-lr' };

/**
 * Declares the pruning options. `mam sweep` passes own: false: it takes --pruned-as, --batch-size
 * and --seed from its training options.
 */
export function addPruneOptions(cmd: Command, { own = true, dropUnselected = false, fineTuneLr = d.learningRate } = {}): Command {
  cmd
    .option('--schedule <kind>', 'agp (gradual, cubic: Zhu & Gupta), linear, or oneshot', d.schedule)
    .option('--steps <n>', 'pruning steps, with fine-tuning between them (oneshot: 1)', String(d.steps))
    .option('--fine-tune-epochs <n>', 'training epochs after each pruning step (0: none)', String(d.fineTuneEpochs))
    .option('--scope <scope>', 'global (one threshold over all pruned layers) or layer (the same sparsity in each)', d.scope)
    .option('--score <score>', 'magnitude (|w|), gradient (|w dL/dw| over the validation set), or selection (how often MAM selects a connection; magnitude for MAC layers, and for each layer\'s share under --scope global)', d.score)
    .option('--layers <names>', 'prune only these layers, e.g. dec1,out (default: every MAM and MAC layer)')
    .option('--exclude <names>', 'leave these layers dense, e.g. enc1')
    .option('--fine-tune-lr <rate>', 'Adam learning rate of the fine-tuning', String(fineTuneLr));
  // `mam paper` drops them by default (--no-drop-unselected); the others on request.
  if (dropUnselected) cmd.option('--no-drop-unselected', 'keep the MAM connections that no training window selects (default: prune them first, at no cost)');
  else cmd.option('--drop-unselected', 'first prune, at no cost on the training windows, the MAM connections that none of them selects as argmax or argmin');
  if (!own) return cmd;
  return cmd
    .option('--pruned-as <mode>', "pruned MAM connections: zero (a 0 product stays in the max/min) or absent (default: the model's)")
    .option('--batch-size <n>', "windows per fine-tuning step (default: the model's training batch size)")
    .option('--seed <n>', "seeds the fine-tuning batch order (default: the model's seed)");
}

/** Layer names separated by commas; given but empty ("," or "dec1,,out") is refused, not read as "every layer". */
function names(flag: string, raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const list = raw.split(',').map((s) => s.trim());
  if (list.some((s) => s === '')) throw new UsageError(`${flag} must name layers separated by commas, got "${raw}"; e.g. ${flag} dec1,out`);
  return list;
}

/** Sparsity as a fraction in [0, 1), or a UsageError naming the flag. */
export function sparsityOption(flag: string, raw: string): number {
  const v = numberOption(flag, raw, '0.9');
  if (!(v >= 0 && v < 1)) {
    throw new UsageError(`${flag} must be a fraction in [0, 1) (0.9 prunes 90% of the weights), got "${raw}"`);
  }
  return v;
}

/** A grid of sparsities ("0,0.5,0.9"), each a fraction in [0, 1), without repeats. */
export function gridOption(flag: string, raw: string): number[] {
  return [...new Set(raw.split(',').map((s) => sparsityOption(flag, s.trim())))];
}

/** The pruning request (everything but the sparsity) from the flags. */
export function pruneRequest(flags: PruneFlags): Omit<PruneRequest, 'sparsity'> {
  const lr = positiveOption('--fine-tune-lr', flags.fineTuneLr, '0.003');
  const seed = flags.seed === undefined ? undefined : seedOption('--seed', flags.seed);
  return {
    schedule: choiceOption('--schedule', flags.schedule, SCHEDULE_KINDS),
    steps: intOption('--steps', flags.steps, '4', 1),
    fineTuneEpochs: intOption('--fine-tune-epochs', flags.fineTuneEpochs, '2'),
    scope: choiceOption<PruneScope>('--scope', flags.scope, ['global', 'layer']),
    score: choiceOption('--score', flags.score, SCORE_KINDS),
    layers: names('--layers', flags.layers),
    exclude: names('--exclude', flags.exclude),
    ...(flags.prunedAs !== undefined ? { prunedAs: choiceOption('--pruned-as', flags.prunedAs, ['zero', 'absent'] as const) } : {}),
    learningRate: lr,
    ...(flags.dropUnselected ? { dropUnselected: true } : {}),
    ...(flags.batchSize !== undefined ? { batchSize: intOption('--batch-size', flags.batchSize, '64', 1) } : {}),
    ...(seed !== undefined ? { seed } : {}),
  };
}
