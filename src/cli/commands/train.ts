import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { resumeTraining, startTraining, type SessionUi, type TrainOutcome } from '../../train/session.js';
import { setRunDefaults } from '../../train/steppers.js';
import { heldValidation } from '../../train/trainer.js';
import { addCsvOptions, addThreadsOption, givenOnCommandLine, intOption, threadsOption } from '../options.js';
import { onInterrupt } from '../interrupt.js';
import { trainingLines } from '../training-ui.js';
import { action, printJson } from '../run.js';
import { addTrainOptions, fromConfig, recipeLine, TRAIN_FLAGS, trainConfig, type TrainFlags } from '../train-options.js';

interface TrainCommandFlags extends TrainFlags {
  out?: string;
  resume?: string;
  from?: string;
  json?: boolean;
  threads?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('train')
    .description('train an ECG autoencoder (MAM tail by default) on recordings (CSV files, WFDB records), or on synthetic ECG when none are given')
    .argument('[recordings...]', 'CSV files, WFDB records (NAME.hea or NAME) or directories (default: synthetic ECG)')
    .option('--out <dir>', 'model directory to write (default: models/<preset>-<kind>)')
    .option('--resume <dir>', 'continue the run saved in this directory (other model and data options are taken from it)')
    .option('--from <dir>', 'start from the weights of this trained model (same shape; its preset and sizes are the defaults): e.g. a MAC model, its MAM layers blending in by vcon')
    .option('--json', 'print the final summary as one JSON object on stdout');
  addTrainOptions(cmd);
  addThreadsOption(cmd);
  addCsvOptions(cmd).action(action(async (csv: string[], flags: TrainCommandFlags, command: Command) => {
    if (flags.resume) checkResumeOptions(csv, command);
    setRunDefaults({ threads: threadsOption(flags.threads) });
    const ui = cliUi();
    const config = flags.resume ? null : flags.from === undefined ? await trainConfig(csv, flags) : await fromConfig(csv, flags.from, flags, command);
    const recipe = config ? recipeLine(csv, config.spec.preset) : undefined;
    if (recipe) ui.session.log(recipe);
    const outcome = config
      ? await startTraining(config, flags.out ?? `models/${config.spec.preset}-${flags.kind}`, ui.session)
      : await resumeTraining(flags.resume!, ui.session, flags.epochs === undefined ? undefined : intOption('--epochs', flags.epochs, '60', 1));
    ui.finish(outcome, flags.json === true);
  }, { flags: TRAIN_FLAGS }));
}

/** A resumed run keeps its own settings: refuse options that would be silently ignored. */
function checkResumeOptions(csv: string[], command: Command): void {
  const given = givenOnCommandLine(command, (name) => !['resume', 'epochs', 'json', 'threads'].includes(name));
  if (csv.length > 0) given.unshift('CSV files');
  if (given.length > 0) {
    throw new UsageError(`--resume continues with the settings saved in the model directory; only --epochs (and --threads, which does not change the result) can change (remove ${given.join(', ')})`);
  }
}

/** Progress on stderr, one line per epoch, Ctrl-C to stop at the end of the current step. */
function cliUi(): { session: SessionUi; finish(outcome: TrainOutcome, json: boolean): void } {
  const interrupt = onInterrupt((text) => lines.session.log(text), 'after this step');
  const lines = trainingLines(interrupt);
  return {
    session: lines.session,
    finish(outcome, json) {
      lines.done();
      const { state, dir } = outcome;
      const held = heldValidation(state);
      const restored = held?.restored ? held : undefined;
      const valAsnrDb = held?.valAsnrDb;
      const summary = {
        model: dir,
        epochs: state.epoch,
        finished: state.finished,
        stop_reason: state.stopReason ?? 'stopped by the user',
        val_asnr_db: valAsnrDb ?? null,
        ...(restored ? { restored_epoch: restored.epoch } : {}),
        train_seconds: state.history.reduce((sum, r) => sum + r.seconds, 0),
        pca_val_asnr_db: outcome.metadata.baseline.valAsnrDb,
      };
      const resume = state.finished ? '' : `; continue with: mam train --resume ${dir}`;
      process.stderr.write(`${state.finished ? 'done' : 'stopped'}: ${dir} after ${state.epoch} epochs (${summary.stop_reason}), validation ASNR ${valAsnrDb?.toFixed(2) ?? '-'} dB${restored ? ` (epoch ${restored.epoch}'s weights)` : ''} (PCA ${summary.pca_val_asnr_db.toFixed(2)} dB)${resume}\n`);
      if (json) printJson(summary);
      interrupt.setExitCode();
    },
  };
}
