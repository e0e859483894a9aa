import chalk from 'chalk';
import type { Command } from 'commander';
import { expandCsvPaths } from '../../data/csv.js';
import { MamError } from '../../errors.js';
import { evaluate, evaluationData, evaluationPlot, reconstructionCsv, shortName, type Evaluation } from '../../eval/evaluate.js';
import type { MetricSummary } from '../../metrics/reconstruction.js';
import { loadModel } from '../../model/files.js';
import { autoencoderMetadata } from '../../model/metadata.js';
import { addCsvOptions, csvOptions, givenOnCommandLine, type CsvFlags } from '../options.js';
import { action, printJson } from '../run.js';
import { writeOutput } from '../write.js';

interface EvalFlags extends CsvFlags {
  model: string;
  json?: boolean;
  saveReconstruction?: string;
  plot?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description('reconstruction quality of a trained model (ASNR, PRD, PRDN) on its test split, or on CSV recordings')
    .argument('[csv...]', 'CSV files or directories to evaluate on (default: the model\'s own test split)')
    .requiredOption('--model <dir>', 'model directory written by mam train')
    .option('--json', 'print one JSON object: asnr_db, prd, prdn, snr_median_db, snr_p5_db, windows, split, records')
    .option('--save-reconstruction <file.csv>', 'write every window, original and reconstruction, in the model\'s normalised units')
    .option('--plot <file.svg>', 'draw a few windows, original over reconstruction, with their SNR');
  addCsvOptions(cmd).action(action(async (csv: string[], flags: EvalFlags, command: Command) => {
    const { model, metadata } = await loadModel(flags.model);
    const meta = autoencoderMetadata(metadata, flags.model);
    if (!meta.training.state.finished) {
      process.stderr.write(`note: ${flags.model} is an unfinished run (epoch ${meta.training.state.epoch} of ${meta.training.options.epochs}); mam train --resume ${flags.model} finishes it\n`);
    }
    if (csv.length === 0) {
      // Without CSV files the model's own data are used, read as they were: refuse flags that would be ignored.
      const ignored = givenOnCommandLine(command, (name) => ['lead', 'fs', 'adcGain', 'adcZero'].includes(name));
      if (ignored.length > 0) throw new MamError(`${ignored.join(', ')} only appl${ignored.length === 1 ? 'ies' : 'y'} to CSV files given to mam eval; without them it evaluates the model's own test split as it was read: remove ${ignored.join(', ')} or give CSV files`);
    }
    const files = csv.length > 0 ? await expandCsvPaths(csv) : [];
    // New recordings are read like the model's own (lead, ADC scaling), unless flags say
    // otherwise; not its --fs, which belonged to those files.
    const source = meta.data.source;
    const stored = source.kind === 'csv' ? { lead: source.read.lead, adcGain: source.read.adcGain, adcZero: source.read.adcZero } : {};
    const given = Object.fromEntries(Object.entries(csvOptions(flags)).filter(([, v]) => v !== undefined));
    const read = { ...stored, ...given };
    const ev = evaluate(model, await evaluationData(meta, files.length > 0 ? { files, read } : undefined));
    if (flags.saveReconstruction) await writeOutput(flags.saveReconstruction, reconstructionCsv(ev), '--save-reconstruction');
    if (flags.plot) await writeOutput(flags.plot, [evaluationPlot(ev, 6, meta.data.pipeline.fs)], '--plot');
    if (flags.json) printJson(report(ev));
    else process.stdout.write(formatReport(ev, flags.model));
  }));
}

function metrics(s: MetricSummary) {
  return { asnr_db: s.asnr_db, prd: s.prd, prdn: s.prdn, snr_median_db: s.snr_median_db, snr_p5_db: s.snr_p5_db, windows: s.windows };
}

function report(ev: Evaluation) {
  return {
    ...metrics(ev.overall),
    split: ev.split,
    records: ev.records.map((r) => ({ name: r.name, ...metrics(r.summary) })),
  };
}

function formatReport(ev: Evaluation, dir: string): string {
  const row = (name: string, s: MetricSummary) =>
    `${name.padEnd(28)} ${s.asnr_db.toFixed(2).padStart(7)} ${s.prd.toFixed(2).padStart(7)} ${s.prdn.toFixed(2).padStart(7)} ` +
    `${s.snr_median_db.toFixed(2).padStart(7)} ${s.snr_p5_db.toFixed(2).padStart(7)} ${String(s.windows).padStart(7)}`;
  const head = `${'record'.padEnd(28)} ${'ASNR dB'.padStart(7)} ${'PRD %'.padStart(7)} ${'PRDN %'.padStart(7)} ${'med dB'.padStart(7)} ${'p5 dB'.padStart(7)} ${'windows'.padStart(7)}`;
  const lines = [
    `${chalk.bold(dir)}: ${ev.split === 'test' ? "the model's test split" : 'all windows of the given recordings'}`,
    chalk.dim(head),
    ...ev.records.map((r) => row(shortName(r.name).slice(0, 28), r.summary)),
    chalk.bold(row('all', ev.overall)),
  ];
  return `${lines.join('\n')}\n`;
}
