// The two ways a sweep prunes, by name. Pure: no tfjs, no files.
//   papers    the MAM papers' protocol: every grid point pruned from the dense model in one
//             shot, by the score, with no fine-tuning, so the surviving weights are the dense
//             model's bit for bit and the curve shows how prunable the trained layers are.
//   finetune  gradual pruning with fine-tuning after each step (the schedule and epochs given),
//             each point from the one before it: what a deployment would do.
import { msg, RequestError } from '../errors.js';
import { DEFAULT_PRUNE_OPTIONS, type PruneRequest } from '../prune/pruner.js';

export type SweepProtocol = 'papers' | 'finetune';
export const SWEEP_PROTOCOLS: readonly SweepProtocol[] = ['papers', 'finetune'];

export const PROTOCOL_DESCRIPTIONS: Record<SweepProtocol, string> = {
  papers: 'one shot from the dense model, no fine-tuning (the MAM papers\' protocol)',
  finetune: 'gradual pruning with fine-tuning, each point from the one before',
};

/** The pruning options a protocol runs with: `papers` fixes the schedule and the fine-tuning. */
export function protocolPrune(protocol: SweepProtocol, prune: Omit<PruneRequest, 'sparsity'>): Omit<PruneRequest, 'sparsity'> {
  if (!SWEEP_PROTOCOLS.includes(protocol)) {
    throw new RequestError(msg`{protocol} ${String(protocol)}: choose ${SWEEP_PROTOCOLS.join(' or ')}`);
  }
  // Without fine-tuning its learning rate means nothing: fixed, so it cannot tell two sweeps apart.
  return protocol === 'papers' ? { ...prune, schedule: 'oneshot', steps: 1, fineTuneEpochs: 0, learningRate: DEFAULT_PRUNE_OPTIONS.learningRate } : prune;
}

/**
 * The sparsity a grid point is pruned from: the dense model (papers), or the nearest computed
 * point below it (finetune); null for the dense model.
 */
export function startingPoint<P extends { sparsity: number }>(protocol: SweepProtocol, sparsity: number, done: P[]): P | null {
  if (protocol === 'papers') return null;
  return done.filter((p) => p.sparsity < sparsity).sort((a, b) => b.sparsity - a.sparsity)[0] ?? null;
}
