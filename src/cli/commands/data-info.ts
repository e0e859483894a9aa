import chalk from 'chalk';
import type { Command } from 'commander';
import { annotationPath, expandRecordingPaths, isWfdbRecord, readRecording, type Recording, type RecordingReadOptions } from '../../data/recordings.js';
import { beatCounts, readAnnotations, type BeatCount } from '../../data/wfdb/annotations.js';
import { shortName } from '../../eval/evaluate.js';
import { formatTable } from '../../report/table.js';
import { millivoltsPer } from '../../data/wfdb/reader.js';
import { formatDuration } from '../../report/text.js';
import { addCsvOptions, annotationExtension, csvOptions, type CsvFlags } from '../options.js';
import { action, printJson } from '../run.js';

interface DataInfoOptions extends CsvFlags {
  json?: boolean;
  annotations?: string;
}

export function register(program: Command): void {
  const data = program.command('data').description('inspect ECG recordings (CSV files, WFDB records)');
  const info = data
    .command('info')
    .description("show each recording's leads, sampling rate and where it came from, length, and the used lead's range; for WFDB records every signal's format, units and checks")
    .argument('<recordings...>', 'CSV files, WFDB records (NAME.hea or NAME), or directories (their *.csv and *.hea files)');
  addCsvOptions(info)
    .option('--annotations <ext>', 'WFDB records: count the beats per class in the annotation file beside each (NAME.<ext>, e.g. atr)')
    .option('--json', 'print one JSON array, one object per recording')
    .action(
      action(async (paths: string[], opts: DataInfoOptions) => {
        const options = csvOptions(opts);
        const files = await expandRecordingPaths(paths);
        const infos: FileInfo[] = [];
        // One recording at a time, keeping only its summary: a directory of 24-hour records fits.
        for (const [i, file] of files.entries()) {
          const info = summarize(await readRecording(file, options, true), options);
          if (opts.annotations !== undefined) {
            const path = annotationPath(file, annotationExtension(opts.annotations));
            info.annotations = { file: path, beats: beatCounts((await readAnnotations(path)).annotations) };
          }
          if (opts.json) infos.push(info);
          else process.stdout.write(`${i > 0 ? '\n' : ''}${formatInfo(info)}\n`);
        }
        if (opts.json) printJson(infos);
      }, { tfjs: false }),
    );
}

interface FileInfo {
  file: string;
  leads: string[];
  lead: string;
  leadIndex: number;
  fs: number;
  fsSource: string;
  samples: number;
  durationS: number;
  /** Of the used lead, in mV (or ADC counts when no --adc-gain was given and they are counts). */
  min: number;
  max: number;
  mean: number;
  /** Set when the values look like raw ADC counts rather than mV. */
  note?: string;
  /** WFDB records: every signal as the header describes it, and what the reader noted. */
  signals?: SignalInfo[];
  notes?: string[];
  annotations?: { file: string; beats: BeatCount[] };
}

interface SignalInfo {
  name: string;
  file: string;
  format: string;
  fs: number;
  samples: number | null;
  gain: number;
  baseline: number;
  units: string;
  /** 'ok', 'not stated' or the mismatch; null when not read. */
  check: string | null;
  /** Samples holding WFDB's invalid value (gaps); null when not read. */
  invalid: number | null;
  /** Whether it can be used as an ECG lead (in volts). */
  ecg: boolean;
}

function summarize(r: Recording, options: RecordingReadOptions): FileInfo {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let invalid = 0;
  for (const v of r.signal) {
    if (Number.isNaN(v)) { invalid++; continue; } // a WFDB gap, counted per signal below
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const mean = sum / (r.rows - invalid);
  const info: FileInfo = {
    file: r.name, leads: r.leads, lead: r.lead, leadIndex: r.leadIndex, fs: r.fs, fsSource: r.fsSource,
    samples: r.rows, durationS: r.rows / r.fs, min: shortFloat32(min), max: shortFloat32(max), mean: +mean.toPrecision(6),
  };
  if (isWfdbRecord(r)) {
    info.signals = r.header.signals.map((s, i) => ({
      name: r.leads[i]!, file: s.file,
      format: `${s.format}${s.samplesPerFrame > 1 ? `x${s.samplesPerFrame}` : ''}${s.skew ? `:${s.skew}` : ''}${s.byteOffset ? `+${s.byteOffset}` : ''}`,
      fs: r.rates[i]!, samples: r.signals[i]?.length ?? null, gain: s.gain, baseline: s.baseline, units: s.units,
      check: r.checks[i] ?? null, invalid: r.invalid[i] ?? null, ecg: millivoltsPer(s.units) !== undefined,
    }));
    if (r.notes.length > 0) info.notes = r.notes;
    return info;
  }
  // ECG in mV stays within a few mV; hundreds mean the file holds ADC counts.
  if (options.adcGain === undefined && Math.max(Math.abs(min), Math.abs(max)) > 100) {
    info.note = 'values look like raw ADC counts, not mV: give --adc-gain and --adc-zero (MIT-BIH: 200 and 1024)';
  }
  return info;
}

/** The shortest decimal that reads back as the same float32 (-0.145, not -0.14499999582767487). */
function shortFloat32(v: number): number {
  for (let p = 1; p < 9; p++) {
    const s = Number(v.toPrecision(p));
    if (Math.fround(s) === v) return s;
  }
  return v;
}

function formatInfo(i: FileInfo): string {
  // Seconds as they are, and from a minute on also as a clock: "300 s (5:00)".
  const duration = `${+i.durationS.toFixed(3)} s${i.durationS >= 60 ? ` (${formatDuration(i.durationS, 1)})` : ''}`;
  const rows = [
    ['leads', i.leads.join(', ')],
    ['lead', `${i.lead} (index ${i.leadIndex})`],
    ['rate', `${i.fs} Hz, from ${i.fsSource}`],
    ['samples', String(i.samples)],
    ['duration', duration],
    ['range', `${i.min} to ${i.max} mV, mean ${i.mean} mV`],
    ...(i.note ? [['note', i.note]] : []),
    ...(i.annotations ? [['beats', beatLine(i.annotations)]] : []),
  ].map(([label, value]) => [chalk.dim(label!), value!]);
  const signals = i.signals ? ['  signals', ...formatTable(
    [{ header: '#' }, { header: 'name' }, { header: 'file' }, { header: 'format' }, { header: 'rate Hz' }, { header: 'samples' }, { header: 'gain(baseline)/units' }, { header: 'checksum' }],
    i.signals.map((s, k) => [String(k), s.name, s.file, s.format, String(s.fs), s.samples === null ? '-' : String(s.samples), `${s.gain}(${s.baseline})/${s.units}${s.ecg ? '' : ' (not an ECG lead)'}`, `${s.check ?? 'not read'}${s.invalid ? `; ${s.invalid} invalid (gaps)` : ''}`]),
    { indent: '    ', styleHeader: chalk.dim },
  )] : [];
  const notes = (i.notes ?? []).map((n) => chalk.dim(`  ${n}`));
  return [chalk.bold(i.file), ...formatTable([{}, {}], rows, { indent: '  ' }), ...signals, ...notes].join('\n');
}

/** "N 2239, A 33, V 1 (AAMI N 2239, S 33, V 1) in 100.atr" */
function beatLine(a: { file: string; beats: BeatCount[] }): string {
  if (a.beats.length === 0) return `none in ${shortName(a.file)}`;
  const byClass = new Map<string, number>();
  for (const b of a.beats) byClass.set(b.aami, (byClass.get(b.aami) ?? 0) + b.count);
  const total = a.beats.reduce((s, b) => s + b.count, 0);
  const classes = ['N', 'S', 'V', 'F', 'Q'].filter((c) => byClass.has(c)).map((c) => `${c} ${byClass.get(c)}`).join(', ');
  return `${total} in ${shortName(a.file)}: ${a.beats.map((b) => `${b.symbol} ${b.count}`).join(', ')} (AAMI classes: ${classes})`;
}
