import chalk from 'chalk';
import type { Command } from 'commander';
import { expandCsvPaths, readEcgCsv, type CsvReadOptions, type CsvRecord } from '../../data/csv.js';
import { formatTable } from '../../report/table.js';
import { formatDuration } from '../../report/text.js';
import { addCsvOptions, csvOptions, type CsvFlags } from '../options.js';
import { action, printJson } from '../run.js';

interface DataInfoOptions extends CsvFlags {
  json?: boolean;
}

export function register(program: Command): void {
  const data = program.command('data').description('inspect ECG recordings (CSV files)');
  const info = data
    .command('info')
    .description("show each file's leads, sampling rate and where it came from, length, and the used lead's range")
    .argument('<files...>', 'CSV files, or directories (their *.csv files)');
  addCsvOptions(info)
    .option('--json', 'print one JSON array, one object per file')
    .action(
      action(async (paths: string[], opts: DataInfoOptions) => {
        const options = csvOptions(opts);
        const files = await expandCsvPaths(paths);
        const infos: FileInfo[] = [];
        // One file at a time, keeping only its summary: a directory of 24-hour records fits.
        for (const [i, file] of files.entries()) {
          const info = summarize(await readEcgCsv(file, options), options);
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
}

function summarize(r: CsvRecord, options: CsvReadOptions): FileInfo {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of r.signal) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const mean = sum / r.rows;
  const info: FileInfo = {
    file: r.name, leads: r.leads, lead: r.lead, leadIndex: r.leadIndex, fs: r.fs, fsSource: r.fsSource,
    samples: r.rows, durationS: r.rows / r.fs, min: shortFloat32(min), max: shortFloat32(max), mean: +mean.toPrecision(6),
  };
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
  ].map(([label, value]) => [chalk.dim(label!), value!]);
  return [chalk.bold(i.file), ...formatTable([{}, {}], rows, { indent: '  ' })].join('\n');
}
