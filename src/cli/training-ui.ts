// What a training run shows on the command line: a progress bar for the run's steps on stderr
// (plain lines when not a terminal), a line per epoch above it, and Ctrl-C honoured at the end
// of the current step. Shared by `mam train` and `mam cv` (a run per fold).
import { createProgress, type Progress } from '../report/progress.js';
import type { SessionUi } from '../train/session.js';
import type { Interrupt } from './interrupt.js';

export interface TrainingLines {
  session: SessionUi;
  /** Ends the progress bar (before the run's summary is printed). */
  done(): void;
}

/** A training run's UI; `label` names it on the bar (a fold: 'fold 106'), `interrupt` stops it. */
export function trainingLines(interrupt: Interrupt, label = 'training'): TrainingLines {
  let progress: Progress | undefined;
  const log = (text: string) => (progress ? progress.line(text) : process.stderr.write(`${text}\n`));
  return {
    session: {
      log,
      shouldStop: () => interrupt.requested,
      onStep(state, loss, totalSteps) {
        // One bar for the whole run (from where it starts, when resumed), epoch lines above it.
        progress ??= createProgress({ total: totalSteps - state.step + 1, label });
        progress.tick(1, `epoch ${state.epoch + 1}, loss ${loss.toFixed(5)}`);
      },
      onEpoch(_state, r) {
        log(`epoch ${r.epoch}: loss ${r.loss.toFixed(5)}, val loss ${r.valLoss.toFixed(5)}, val ASNR ${r.valAsnrDb.toFixed(2)} dB, beta ${r.beta.toFixed(3)}, lr ${r.learningRate.toPrecision(2)}, ${r.seconds.toFixed(1)} s`);
      },
    },
    done: () => progress?.done(),
  };
}
