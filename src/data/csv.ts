// ECG recordings from CSV files: one row per sample, one column per lead, optionally a time
// column first. What is accepted without options, and the rules:
//
// - Delimiter: tab, semicolon or comma, sniffed from the first line (the first of these found
//   in it). With tab or semicolon a decimal comma is accepted too (0,125).
// - UTF-8 BOM, CRLF or LF line ends, blank lines (skipped), quoted names and cells: csv-parse
//   unquotes the header; single quotes as in MIT-BIH exports ('sample #','MLII','V5') and a
//   second layer of either kind are stripped from names.
// - Header or not: a first line whose cells are all numbers is data, and the leads are then
//   named by their index ('0', '1', ...).
// - Time column: a first column named like time, time_s, time (ms), sample, 'sample #' or
//   index. In seconds or milliseconds it gives the sampling rate, fs = (rows - 1) / (t_last -
//   t_0), rounded to a whole number of Hz when that is within the error the written decimals
//   allow (so time_s rounded to 4 decimals still gives 360 Hz exactly); it must go forward in
//   even steps (within that rounding). A sample number gives no rate: fs must be given.
// - options.fs (--fs) wins over a time column: the column is then only checked to go forward,
//   and fsSource says when it disagrees. Without a time column in s or ms, fs is required.
// - options.lead: a name (case-insensitive, quotes ignored) or a 0-based index among the signal
//   columns (the time column does not count). Default: the first signal column.
// - options.adcGain / adcZero: the cells are ADC counts: mV = (value - adcZero) / adcGain.
//
// Speed and memory: csv-parse alone reads about 0.4 M rows/s here (3 columns, cast: false,
// arrays), too slow for a 24-hour record (31 M rows). So csv-parse parses the header line and
// any data line that the byte-level parser below rejects (to accept an unusual but valid form,
// or to say exactly what is wrong), and plain numeric lines are parsed straight from the bytes.
// A first pass counts newlines, so each lead's Float32Array is allocated once, at an upper
// bound of the rows: 4 bytes per sample per lead, and nothing else grows with the file.
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { MamError } from '../errors.js';
import { expandCsvPaths, fileError, readAt, regularFileSize } from './csv/files.js';
import { readColumns, resolveLead } from './csv/header.js';
import { RowParser } from './csv/row-parser.js';
import { chooseRate, requireRateSource, timeStepsFor } from './csv/sampling-rate.js';
import { sniffHead } from './csv/sniff.js';
import { isBlank } from './csv/text.js';
import type { CsvReadOptions, CsvRecord } from './csv/types.js';

export { expandCsvPaths } from './csv/files.js';
export { cleanName } from './csv/text.js';
export type { CsvReadOptions, CsvRecord, TimeUnit } from './csv/types.js';

const CHUNK = 1 << 20;
/** Longer lines are not one sample per row: refuse them rather than buffer without bound. */
const MAX_LINE = 1 << 20;

/** Reads one ECG CSV file (see the top of this file for what it accepts). */
export async function readEcgCsv(path: string, options: CsvReadOptions = {}): Promise<CsvRecord> {
  checkOptions(options);
  const size = await regularFileSize(path);
  if (size === 0) throw new MamError(`${path}: empty file: give a CSV with one row per sample`, { file: path });
  let fh: FileHandle;
  try {
    fh = await fsp.open(path, 'r');
  } catch (e) {
    throw fileError(path, e);
  }
  try {
    return await readOpen(fh, path, size, options);
  } catch (e) {
    // An I/O failure (EIO, ...) is the file's; anything else is a bug and must show as one.
    if (e instanceof MamError || typeof (e as NodeJS.ErrnoException).code !== 'string') throw e;
    throw new MamError(`${path}: cannot be read (${(e as Error).message}): check the file`, { file: path, cause: e });
  } finally {
    await fh.close();
  }
}

/** Several files and/or directories (their *.csv files, sorted), read one after the other. */
export async function readEcgFiles(paths: readonly string[], options: CsvReadOptions = {}): Promise<CsvRecord[]> {
  const records: CsvRecord[] = [];
  for (const file of await expandCsvPaths(paths)) records.push(await readEcgCsv(file, options));
  return records;
}

// ---------------------------------------------------------------------------------------------

function checkOptions(o: CsvReadOptions): void {
  if (o.fs !== undefined && !(Number.isFinite(o.fs) && o.fs > 0)) {
    throw new MamError(`--fs ${o.fs}: the sampling rate must be a positive number of Hz`);
  }
  if (o.adcGain !== undefined && !(Number.isFinite(o.adcGain) && o.adcGain !== 0)) {
    throw new MamError(`--adc-gain ${o.adcGain}: must be a nonzero number of ADC counts per mV (MIT-BIH: 200)`);
  }
  if (o.adcZero !== undefined && !Number.isFinite(o.adcZero)) {
    throw new MamError(`--adc-zero ${o.adcZero}: must be a number of ADC counts (MIT-BIH: 1024)`);
  }
  if (typeof o.lead === 'number' && !(Number.isInteger(o.lead) && o.lead >= 0)) {
    throw new MamError(`--lead ${o.lead}: a lead index must be a whole number from 0`);
  }
}

async function readOpen(fh: FileHandle, path: string, size: number, options: CsvReadOptions): Promise<CsvRecord> {
  // Room for a carried partial line, a chunk, and a '\n' sentinel after the file's last line.
  const buf = Buffer.allocUnsafe(MAX_LINE + CHUNK + 1);
  const headLen = await readAt(fh, buf, 0, Math.min(size, MAX_LINE + CHUNK), 0);
  const wholeFile = headLen === size;

  const first = sniffHead(buf, headLen, wholeFile, path);
  const { line, start, end: firstEnd, delimiter, decimalComma } = first;

  const columns = readColumns(path, first);
  const { header, timeColumn, leads } = columns;
  const leadIndex = resolveLead(path, leads, options.lead);

  const dataStart = header ? firstEnd + 1 : start;
  if (header && wholeFile && isBlank(buf, dataStart, headLen)) {
    throw new MamError(`${path}: a header but no data rows: give a CSV with one row per sample`, { file: path });
  }
  requireRateSource(path, options.fs, timeColumn);

  // Pass 1: newlines after the first data line's start bound the rows from above.
  let capacity = 1;
  if (wholeFile) {
    for (let i = dataStart; i < headLen; i++) if (buf[i] === 10) capacity++;
  } else {
    let pos = dataStart;
    for (;;) {
      const n = await readAt(fh, buf, 0, CHUNK, pos);
      if (n === 0) break;
      for (let i = 0; i < n; i++) if (buf[i] === 10) capacity++;
      pos += n;
    }
  }

  const timeSteps = timeStepsFor(timeColumn, options.fs);
  const parser = new RowParser({
    path, columns, delimiter, decimalComma, capacity, timeSteps, adcGain: options.adcGain, adcZero: options.adcZero,
  });
  parser.line = header ? line : line - 1;

  // Pass 2: whole lines from each chunk; a partial last line is carried to the next.
  let carry = 0;
  let pos = dataStart;
  for (;;) {
    if (carry >= MAX_LINE) throw new MamError(`${path}: line ${parser.line + 1} is longer than 1 MiB: not a CSV with one row per sample`, { file: path });
    const n = await readAt(fh, buf, carry, MAX_LINE + CHUNK - carry, pos);
    pos += n;
    const end = carry + n;
    if (n === 0) {
      if (carry > 0) {
        buf[carry] = 10; // the sentinel every line is parsed against
        parser.parse(buf, 0, carry + 1);
      }
      break;
    }
    const lastNl = buf.lastIndexOf(10, end - 1);
    if (lastNl < 0) {
      carry = end;
      continue;
    }
    parser.parse(buf, 0, lastNl + 1);
    buf.copyWithin(0, lastNl + 1, end);
    carry = end - lastNl - 1;
  }

  const rows = parser.rows;
  if (rows === 0) throw new MamError(`${path}: a header but no data rows: give a CSV with one row per sample`, { file: path });
  const { fs, fsSource, timeColumnFs } = chooseRate(path, options.fs, timeColumn, rows, timeSteps);
  const signals = parser.signals.map((a) => a.subarray(0, rows));
  return {
    name: path, fs, lead: leads[leadIndex]!, signal: signals[leadIndex]!,
    leads, signals, leadIndex, fsSource, rows, timeColumn, timeColumnFs, delimiter, header,
  };
}
