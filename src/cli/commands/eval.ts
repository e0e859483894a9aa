import chalk from 'chalk';
import type { Command } from 'commander';
import { expandRecordingPaths } from '../../data/recordings.js';
import { UsageError } from '../../errors.js';
import { BEAT_HALF_WIDTH_S, evaluateBeats, type BeatEvaluation } from '../../eval/beats.js';
import { evaluate, evaluationData, evaluationPlot, pcaBaseline, reconstructionCsv, shortName, type Evaluation } from '../../eval/evaluate.js';
import { prepareFromSource } from '../../data/source.js';
import type { BeatQuality, BeatQualityReport } from '../../metrics/beats.js';
import { FLAT_STD_MV } from '../../data/pipeline.js';
import { compressionRatio, type MetricSummary, type RecordSummary } from '../../metrics/reconstruction.js';
import { loadModel } from '../../model/files.js';
import { autoencoderMetadata } from '../../model/metadata.js';
import { formatTable, numberColumn } from '../../report/table.js';
import { exportNetwork } from '../../export/network.js';
import { quantizeModel } from '../../quantize/model.js';
import { lowpassFloor } from '../../eval/floor.js';
import { addCsvOptions, addQuantizeOptions, annotationExtension, csvOptions, positiveOption, givenOnCommandLine, quantizeOptions, type CsvFlags, type QuantizeFlags } from '../options.js';
import { action, printJson } from '../run.js';
import { writeOutput } from '../write.js';

interface EvalFlags extends CsvFlags, QuantizeFlags {
  model: string;
  json?: boolean;
  saveReconstruction?: string;
  plot?: string;
  annotations?: string;
  pca?: boolean;
  lowpass?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description('reconstruction quality of a trained model (ASNR, PRD, PRDN) on its test split, or on recordings (CSV files, WFDB records)')
    .argument('[recordings...]', 'CSV files, WFDB records (NAME.hea or NAME) or directories to evaluate on (default: the model\'s own test split)')
    .requiredOption('--model <dir>', 'model directory written by mam train')
    .option('--json', 'print one JSON object: asnr_db, prd, prdn, snr_median_db, snr_p5_db, windows, flat_windows, split, records')
    .option('--save-reconstruction <file.csv>', 'write every window, original and reconstruction, in the model\'s normalised units (- for stdout)')
    .option('--plot <file.svg>', 'draw a few windows, original over reconstruction, with their SNR (- for stdout)')
    .option('--annotations <ext>', `WFDB records: read the beat annotations beside each (NAME.<ext>, e.g. atr) and report quality per beat class: the windows holding each class, and PRD of +-${BEAT_HALF_WIDTH_S} s around each beat`)
    .option('--lowpass <hz>', 'also report the noise floor: the ASNR of keeping everything below this frequency (an ideal lowpass of each record) on the same windows, e.g. 40')
    .option('--pca', "also report PCA with the model's latent size, fitted on the model's training windows, on the same windows (the linear baseline)");
  addQuantizeOptions(addCsvOptions(cmd), 'evaluate').action(action(async (csv: string[], flags: EvalFlags, command: Command) => {
    const quantize = quantizeOptions(flags);
    const cutoff = flags.lowpass === undefined ? undefined : positiveOption('--lowpass', flags.lowpass, '40');
    const annotations = flags.annotations === undefined ? undefined : annotationExtension(flags.annotations);
    // '-' puts a file on stdout: then the report goes to stderr, and only one thing may take stdout.
    const toStdout = [flags.saveReconstruction, flags.plot].filter((f) => f === '-').length;
    if (toStdout > 1 || (toStdout === 1 && flags.json)) {
      throw new UsageError('only one of --save-reconstruction -, --plot - and --json can write to stdout: give the others a file');
    }
    const { model, metadata } = await loadModel(flags.model);
    const meta = autoencoderMetadata(metadata, flags.model);
    if (!meta.training.state.finished) {
      process.stderr.write(`note: ${flags.model} is an unfinished run (epoch ${meta.training.state.epoch} of ${meta.training.options.epochs}); mam train --resume ${flags.model} finishes it\n`);
    }
    if (csv.length === 0) {
      // Without CSV files the model's own data are used, read as they were: refuse flags that would be ignored.
      const ignored = givenOnCommandLine(command, (name) => ['lead', 'fs', 'adcGain', 'adcZero', 'verify'].includes(name));
      if (ignored.length > 0) throw new UsageError(`${ignored.join(', ')} only appl${ignored.length === 1 ? 'ies' : 'y'} to recordings given to mam eval; without them it evaluates the model's own test split as it was read: remove ${ignored.join(', ')} or give recordings`);
    }
    const files = csv.length > 0 ? await expandRecordingPaths(csv) : [];
    // New recordings are read like the model's own (lead, ADC scaling), unless flags say
    // otherwise; not its --fs, which belonged to those files.
    const source = meta.data.source;
    const stored = source.kind === 'csv' ? { lead: source.read.lead, adcGain: source.read.adcGain, adcZero: source.read.adcZero, verify: source.read.verify } : {};
    const given = Object.fromEntries(Object.entries(csvOptions(flags)).filter(([, v]) => v !== undefined));
    const read = { ...stored, ...given };
    const data = await evaluationData(meta, files.length > 0 ? { files, read } : undefined);
    const int8 = quantize ? await quantizeModel(model, meta, exportNetwork(model, meta.data.pipeline), quantize, data.train) : undefined;
    const ev = evaluate(model, data, int8);
    // The float model on the same windows: what the int8 network is compared with.
    const float = int8 ? evaluate(model, data).overall : undefined;
    for (const note of data.notes ?? []) process.stderr.write(`${note}\n`);
    const beats = annotations !== undefined ? await evaluateBeats(ev, annotations, meta.data.pipeline.fs) : undefined;
    const pca = flags.pca ? pcaBaseline(data, data.train ?? (await prepareFromSource(meta.data.source, meta.data.pipeline)).train, meta.spec.latent) : undefined;
    if (flags.saveReconstruction) await writeOutput(flags.saveReconstruction, reconstructionCsv(ev), '--save-reconstruction');
    if (flags.plot) await writeOutput(flags.plot, [evaluationPlot(ev, 6, meta.data.pipeline.fs)], '--plot');
    const versus = int8 && float ? { quantize: 'int8', weight_scales: int8.weightScales, float_asnr_db: float.asnr_db, float_prd: float.prd } : {};
    const floor = cutoff === undefined ? undefined : await lowpassFloor(data, meta.data.pipeline, cutoff);
    const baseline = pca ? { pca: { components: meta.spec.latent, ...metrics(pca.overall), records: pca.records.map((r) => ({ name: r.name, ...metrics(r.summary) })) } } : {};
    const lowpass = floor ? { lowpass: { cutoff_hz: cutoff, ...metrics(floor.overall), records: floor.records.map((r) => ({ name: r.name, ...metrics(r.summary) })) } } : {};
    const ratio = compressionRatio(ev.windows, meta.spec.latent);
    if (flags.json) printJson({ ...report(ev), compression_ratio: ratio, ...versus, ...baseline, ...lowpass, ...(beats ? { beats: beatsJson(beats) } : {}) });
    else {
      const text = formatReport(ev, flags.model, !!int8, pca) + ratioNote(ratio, ev) + (float ? int8Note(ev.overall, float, int8!.weightScales) : '')
        + (pca ? pcaNote(ev.overall, pca.overall, meta.spec.latent) : '')
        + (floor ? floorNote(floor, cutoff!) : '')
        + (beats ? formatBeats(beats) : '');
      (toStdout ? process.stderr : process.stdout).write(text);
    }
  }));
}

function metrics(s: MetricSummary) {
  return { asnr_db: s.asnr_db, prd: s.prd, prdn: s.prdn, snr_median_db: s.snr_median_db, snr_p5_db: s.snr_p5_db, windows: s.windows };
}

function report(ev: Evaluation) {
  return {
    ...metrics(ev.overall),
    flat_windows: ev.flatByRecord.reduce((a, b) => a + b, 0),
    split: ev.split,
    // Every record, also one whose windows were all flat (then without metrics).
    records: ev.recordNames.flatMap((name, i) => {
      const r = ev.records.find((x) => x.record === i);
      if (!r && ev.flatByRecord[i] === 0) return []; // no window in this split
      return [{ name, ...(r ? metrics(r.summary) : { windows: 0 }), flat_windows: ev.flatByRecord[i] }];
    }),
  };
}

/** The table per record and overall; with `pca`, a column of the PCA baseline's ASNR. */
function formatReport(ev: Evaluation, dir: string, int8 = false, pca?: { overall: MetricSummary; records: RecordSummary[] }): string {
  const cells = (name: string, s: MetricSummary, p?: MetricSummary) => [
    name, s.asnr_db.toFixed(2), s.prd.toFixed(2), s.prdn.toFixed(2), s.snr_median_db.toFixed(2), s.snr_p5_db.toFixed(2), String(s.windows),
    ...(pca ? [p ? p.asnr_db.toFixed(2) : '-'] : []),
  ];
  const metric = (header: string) => numberColumn(header, 7);
  const table = formatTable(
    [{ header: 'record', width: 28 }, metric('ASNR dB'), metric('PRD %'), metric('PRDN %'), metric('med dB'), metric('p5 dB'), metric('windows'), ...(pca ? [metric('PCA dB')] : [])],
    [
      ...ev.records.map((r) => cells(shortName(r.name).slice(0, 28), r.summary, pca?.records.find((p) => p.record === r.record)?.summary)),
      cells('all', ev.overall, pca?.overall).map((c) => chalk.bold(c)),
    ],
    { styleHeader: chalk.dim },
  );
  return [`${chalk.bold(dir)}: ${ev.split === 'test' ? "the model's test split" : 'all windows of the given recordings'}${int8 ? ', int8' : ''}`, ...table].join('\n') + `\n${flatNote(ev)}`;
}

/** Samples in per value out, on these windows. */
function ratioNote(ratio: number, ev: Evaluation): string {
  const how = ev.windows.segments ? 'mean segment length per latent value plus its length' : 'window samples per latent value';
  return `compression ratio ${+ratio.toFixed(2)} (${how})\n`;
}

/** The noise floor: the ideal lowpass's ASNR on the same windows, overall and per record. */
function floorNote(floor: { overall: MetricSummary; records: RecordSummary[] }, cutoff: number): string {
  const per = floor.records.length > 1 ? ` (${floor.records.map((r) => `${shortName(r.name)} ${r.summary.asnr_db.toFixed(2)}`).join(', ')})` : '';
  return `noise floor: keeping everything below ${cutoff} Hz (an ideal lowpass) gives ASNR ${floor.overall.asnr_db.toFixed(2)} dB on the same windows${per}\n`;
}

/** The model against PCA with as many components as its latent, on the same windows. */
function pcaNote(model: MetricSummary, pca: MetricSummary, components: number): string {
  const gain = model.asnr_db - pca.asnr_db;
  return `PCA with ${components} components (fitted on the model's training windows): ASNR ${pca.asnr_db.toFixed(2)} dB on the same windows; the model is ${Math.abs(gain).toFixed(2)} dB ${gain >= 0 ? 'better' : 'worse'}\n`;
}

const CLASS_NAMES: Record<string, string> = { N: 'normal', S: 'supraventricular', V: 'ventricular', F: 'fusion', Q: 'unclassifiable' };

function beatCells(label: string, q: BeatQuality): string[] {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');
  return [label, String(q.beats + q.beats_uncovered), String(q.windows), f(q.asnr_db), f(q.prd), f(q.prdn)];
}

/** Per record and overall, a row per AAMI class with beats, then the symbols (A, L, ...) that are not their class's letter. */
function formatBeats(b: BeatEvaluation): string {
  const rows: string[][] = [];
  const add = (name: string, report: BeatQualityReport, bold = false) => {
    const style = (s: string) => (bold ? chalk.bold(s) : s);
    for (const [cls, q] of Object.entries(report.classes)) rows.push(beatCells(`${name} ${cls} (${CLASS_NAMES[cls]})`, q!).map(style));
    for (const [symbol, q] of Object.entries(report.symbols)) {
      if (!Object.hasOwn(report.classes, symbol) || report.classes[symbol as keyof BeatQualityReport['classes']]!.beats !== q.beats) {
        rows.push(beatCells(`${name}   symbol ${symbol}`, q).map((c) => chalk.dim(style(c))));
      }
    }
  };
  if (b.records.length > 1) for (const r of b.records) add(shortName(r.name), r);
  add('all', b.overall, true);
  const metric = (header: string) => numberColumn(header, 7);
  const table = formatTable(
    [{ header: 'beats by class', width: 36 }, metric('beats'), metric('windows'), metric('ASNR dB'), metric('PRD %'), metric('PRDN %')],
    rows, { styleHeader: chalk.dim },
  );
  return [`\nbeats from ${b.files.map(shortName).join(', ')}: ASNR of the windows holding each class; PRD and PRDN (in mV) of +-${BEAT_HALF_WIDTH_S} s around each beat`, ...table].join('\n') + '\n';
}

function beatsJson(b: BeatEvaluation) {
  return { half_width_s: BEAT_HALF_WIDTH_S, files: b.files, overall: b.overall, records: b.records.map(({ name, classes, symbols }) => ({ name, classes, symbols })) };
}

/** The int8 network against the float model on the same windows. */
function int8Note(int8: MetricSummary, float: MetricSummary, weightScales: string): string {
  const loss = float.asnr_db - int8.asnr_db;
  return `int8 (weight scales per ${weightScales === 'channel' ? 'output neuron' : 'layer'}, integer reference): ASNR ${int8.asnr_db.toFixed(2)} dB; the float model ${float.asnr_db.toFixed(2)} dB (int8 ${loss >= 0 ? 'loses' : 'gains'} ${Math.abs(loss).toFixed(2)} dB)\n`;
}

/** Windows the metrics leave out because they hold no signal, per record (nothing when there are none). */
function flatNote(ev: Evaluation): string {
  const per = ev.recordNames.map((name, i) => ({ name, i, n: ev.flatByRecord[i]! })).filter((r) => r.n > 0);
  if (per.length === 0) return '';
  const whole = (i: number) => !ev.records.some((r) => r.record === i);
  const list = per.map((r) => `${shortName(r.name)} ${r.n}${whole(r.i) ? ' (all its windows)' : ''}`).join(', ');
  return chalk.dim(`left out as flat (standard deviation below ${FLAT_STD_MV} mV: no signal, or a lead off): ${list}\n`);
}
