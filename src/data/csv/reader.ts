// Reads one ECG CSV file: checks the options, sniffs the head, reads the columns, then two
// passes over the file. Each part's rules are in its own file (see ../csv.ts for the map).
//
// - options.adcGain / adcZero: the cells are ADC counts: mV = (value - adcZero) / adcGain.
// - Memory: a first pass counts newlines, so each lead's Float32Array is allocated once, at an
//   upper bound of the rows: 4 bytes per sample per lead, and nothing else grows with the file.
//   The second pass parses whole lines chunk by chunk, through one buffer.
import type { FileHandle } from 'node:fs/promises';
import { MamError, msg, RequestError } from '../../errors.js';
import { readAt, regularFileSize, withOpenFile } from '../files.js';
import { expandCsvPaths } from './files.js';
import { readColumns, resolveLead } from './header.js';
import { RowParser } from './row-parser.js';
import { chooseRate, requireRateSource, timeStepsFor } from './sampling-rate.js';
import { sniffHead } from './sniff.js';
import { isBlank } from './text.js';
import type { CsvReadOptions, CsvRecord } from './types.js';

const CHUNK = 1 << 20;
/** Longer lines are not one sample per row: refuse them rather than buffer without bound. */
const MAX_LINE = 1 << 20;

/** Reads one ECG CSV file (see src/data/csv.ts for what it accepts). */
export async function readEcgCsv(path: string, options: CsvReadOptions = {}): Promise<CsvRecord> {
  checkOptions(options);
  const size = await regularFileSize(path);
  if (size === 0) throw new MamError(`${path}: empty file: give a CSV with one row per sample`, { file: path });
  return withOpenFile(path, (fh) => readOpen(fh, path, size, options));
}

/** Several files and/or directories (their *.csv files, sorted), read one after the other. */
export async function readEcgFiles(paths: readonly string[], options: CsvReadOptions = {}): Promise<CsvRecord[]> {
  const records: CsvRecord[] = [];
  for (const file of await expandCsvPaths(paths)) records.push(await readEcgCsv(file, options));
  return records;
}

function checkOptions(o: CsvReadOptions): void {
  if (o.fs !== undefined && !(Number.isFinite(o.fs) && o.fs > 0)) {
    throw new RequestError(msg`{fs} ${o.fs}: the sampling rate must be a positive number of Hz`);
  }
  if (o.adcGain !== undefined && !(Number.isFinite(o.adcGain) && o.adcGain !== 0)) {
    throw new RequestError(msg`{adcGain} ${o.adcGain}: must be a nonzero number of ADC counts per mV (MIT-BIH: 200)`);
  }
  if (o.adcZero !== undefined && !Number.isFinite(o.adcZero)) {
    throw new RequestError(msg`{adcZero} ${o.adcZero}: must be a number of ADC counts (MIT-BIH: 1024)`);
  }
  if (typeof o.lead === 'number' && !(Number.isInteger(o.lead) && o.lead >= 0)) {
    throw new RequestError(msg`{lead} ${o.lead}: a lead index must be a whole number from 0`);
  }
}

function noDataRows(path: string): MamError {
  return new MamError(`${path}: a header but no data rows: give a CSV with one row per sample`, { file: path });
}

/** The whole read, once the file is open. The checks run in this order, so each error is the first one a file has. */
async function readOpen(fh: FileHandle, path: string, size: number, options: CsvReadOptions): Promise<CsvRecord> {
  // Room for a carried partial line, a chunk, and a '\n' sentinel after the file's last line.
  const buf = Buffer.allocUnsafe(MAX_LINE + CHUNK + 1);
  const headLen = await readAt(fh, buf, 0, Math.min(size, MAX_LINE + CHUNK), 0);
  const wholeFile = headLen === size;

  const first = sniffHead(buf, headLen, wholeFile, path);
  const columns = readColumns(path, first);
  const { header, timeColumn, leads } = columns;
  const leadIndex = resolveLead(path, leads, options.lead);
  const dataStart = header ? first.end + 1 : first.start;
  if (header && wholeFile && isBlank(buf, dataStart, headLen)) throw noDataRows(path);
  requireRateSource(path, options.fs, timeColumn);

  const capacity = await countRowsAtMost(fh, buf, dataStart, headLen, wholeFile);
  const timeSteps = timeStepsFor(timeColumn, options.fs);
  const parser = new RowParser({
    path, columns, delimiter: first.delimiter, decimalComma: first.decimalComma, capacity, timeSteps,
    adcGain: options.adcGain, adcZero: options.adcZero,
  });
  parser.line = header ? first.line : first.line - 1;
  await parseRows(fh, buf, dataStart, parser, path);

  const rows = parser.rows;
  if (rows === 0) throw noDataRows(path);
  const { fs, fsSource, timeColumnFs } = chooseRate(path, options.fs, timeColumn, rows, timeSteps);
  const signals = parser.signals.map((a) => a.subarray(0, rows));
  return {
    name: path, fs, lead: leads[leadIndex]!, signal: signals[leadIndex]!,
    leads, signals, leadIndex, fsSource, rows, timeColumn, timeColumnFs, delimiter: first.delimiter, header,
  };
}

/** Pass 1: the newlines after the first data line's start, plus one, bound the rows from above. */
async function countRowsAtMost(fh: FileHandle, buf: Buffer, dataStart: number, headLen: number, wholeFile: boolean): Promise<number> {
  let capacity = 1;
  if (wholeFile) {
    for (let i = dataStart; i < headLen; i++) if (buf[i] === 10) capacity++;
    return capacity;
  }
  let pos = dataStart;
  for (;;) {
    const n = await readAt(fh, buf, 0, CHUNK, pos);
    if (n === 0) return capacity;
    for (let i = 0; i < n; i++) if (buf[i] === 10) capacity++;
    pos += n;
  }
}

/** Pass 2: whole lines from each chunk go to the parser; a partial last line is carried to the next. */
async function parseRows(fh: FileHandle, buf: Buffer, dataStart: number, parser: RowParser, path: string): Promise<void> {
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
      return;
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
}
