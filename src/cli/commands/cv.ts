import chalk from 'chalk';
import type { Command } from 'commander';
import { CV_JSON, runCv, type CvResult } from '../../cv/cv.js';
import { UsageError } from '../../errors.js';
import { shortName } from '../../eval/evaluate.js';
import { formatTable, numberColumn } from '../../report/table.js';
import { setRunDefaults } from '../../train/steppers.js';
import { onInterrupt } from '../interrupt.js';
import { addCsvOptions, addThreadsOption, choiceOption, positiveOption, threadsOption } from '../options.js';
import { action, printJson } from '../run.js';
import { addTrainOptions, fromConfig, recipeLine, TRAIN_FLAGS, trainConfig, type TrainFlags } from '../train-options.js';
import { trainingLines } from '../training-ui.js';

interface CvFlags extends TrainFlags {
  out: string;
  from?: string;
  lowpass?: string;
  valBy: string;
  json?: boolean;
  threads?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('cv')
    .description('leave-one-out cross-validation over recordings (patients): for each, train on all the others and test on it, beside PCA with the same latent size; run again to continue')
    .argument('<recordings...>', 'two or more CSV files, WFDB records (NAME.hea or NAME) or directories: one patient each')
    .requiredOption('--out <dir>', `cv directory: a model per fold, named after its test recording, and ${CV_JSON}`)
    .option('--from <dir>', 'start every fold from the weights of this trained model (same shape; its preset and sizes are the defaults), e.g. one trained on ECGSYN')
    .option('--lowpass <hz>', 'also the noise floor of each test recording: the ASNR of keeping everything below this frequency, e.g. 40')
    .option('--val-by <how>', 'where each fold validates (early stopping, learning-rate schedule): time (a block at the end of each training recording) or record (the training recording after the test one, whole: a patient the fold never trains on)', 'time')
    .option('--json', `print ${CV_JSON}'s content on stdout`);
  addTrainOptions(cmd);
  addThreadsOption(cmd);
  addCsvOptions(cmd).action(action(async (recordings: string[], flags: CvFlags, command: Command) => {
    if (flags.testRecords !== undefined) throw new UsageError('--test-records is what mam cv chooses, one recording per fold: remove it');
    if (flags.valRecords !== undefined) throw new UsageError('--val-records is what mam cv chooses with --val-by record, one recording per fold: remove it');
    const valBy = choiceOption('--val-by', flags.valBy, ['time', 'record'] as const);
    setRunDefaults({ threads: threadsOption(flags.threads) });
    const config = flags.from === undefined ? await trainConfig(recordings, flags) : await fromConfig(recordings, flags.from, flags, command);
    let current: ReturnType<typeof trainingLines> | undefined;
    const log = (text: string) => (current ? current.session.log(text) : process.stderr.write(`${text}\n`));
    const interrupt = onInterrupt(log, 'after this step');
    const recipe = recipeLine(recordings, config.spec.preset);
    if (recipe) log(recipe);
    const lowpassHz = flags.lowpass === undefined ? undefined : positiveOption('--lowpass', flags.lowpass, '40');
    const result = await runCv({ config, dir: flags.out, valBy, ...(lowpassHz !== undefined ? { lowpassHz } : {}) }, {
      log,
      shouldStop: () => interrupt.requested,
      training(record) {
        current = trainingLines(interrupt, `fold ${record}`);
        return current.session;
      },
      trained() {
        current?.done();
        current = undefined;
      },
    });
    if (flags.json) printJson(result);
    else process.stdout.write(formatCv(result, flags.out));
    interrupt.setExitCode();
  }, { flags: TRAIN_FLAGS }));
}

function formatCv(r: CvResult, dir: string): string {
  const dB = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');
  const metric = (header: string) => numberColumn(header, 8);
  const floor = r.lowpassHz !== undefined;
  const table = formatTable(
    [{ header: 'test record', width: 24 }, metric('windows'), metric('ASNR dB'), metric('PCA dB'), metric('gain dB'), metric('PRD %'), metric('p5 dB'), ...(floor ? [metric(`<${r.lowpassHz} Hz`)] : []), metric('epochs')],
    [
      ...r.folds.map((f) => [shortName(f.record), String(f.windows), dB(f.asnrDb), dB(f.pcaAsnrDb), dB(f.asnrDb - f.pcaAsnrDb), dB(f.prd), dB(f.snrP5Db), ...(floor ? [dB(f.lowpassAsnrDb!)] : []), String(f.epochs)]),
      ['mean', '', dB(r.mean.asnrDb), dB(r.mean.pcaAsnrDb), dB(r.mean.asnrDb - r.mean.pcaAsnrDb), dB(r.mean.prd), '', ...(floor ? [dB(r.mean.lowpassAsnrDb!)] : []), ''].map((c) => chalk.bold(c)),
    ],
    { styleHeader: chalk.dim },
  );
  const head = `${chalk.bold(dir)}: leave one out, ${r.kind.toUpperCase()}, compression ratio ${+r.compressionRatio.toFixed(2)} (samples per latent value${r.folds.some((f) => f.compressionRatio !== r.folds[0]!.compressionRatio) ? ', mean over the folds' : ''})${floor ? `; <${r.lowpassHz} Hz: the ASNR of keeping everything below ${r.lowpassHz} Hz (the noise floor)` : ''}${r.finished ? '' : `; stopped after ${r.folds.length} folds: run again to continue`}`;
  return [head, ...table].join('\n') + '\n';
}
