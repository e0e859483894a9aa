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
import { COL_SKIP, readColumns, resolveLead } from './csv/header.js';
import { chooseRate, requireRateSource, timeStepsFor, type TimeSteps } from './csv/sampling-rate.js';
import { sniffHead } from './csv/sniff.js';
import { cleanName, isBlank, NONFINITE, NUMBER, show, splitLine } from './csv/text.js';
import type { CsvReadOptions, CsvRecord } from './csv/types.js';

export { expandCsvPaths } from './csv/files.js';
export { cleanName } from './csv/text.js';
export type { CsvReadOptions, CsvRecord, TimeUnit } from './csv/types.js';

const CHUNK = 1 << 20;
/** Longer lines are not one sample per row: refuse them rather than buffer without bound. */
const MAX_LINE = 1 << 20;
const P10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

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

  const { header, kinds, timeColumn, leadCols, leads, labels } = readColumns(path, first);
  const ncols = kinds.length;
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
    path, kinds, leadCols, delimiter, decimalComma, capacity, header, headerFields: ncols,
    labels,
    timeSteps,
    adcGain: options.adcGain, adcZero: options.adcZero,
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

interface ParserSetup {
  path: string;
  kinds: Uint8Array;
  leadCols: number[];
  delimiter: string;
  decimalComma: boolean;
  capacity: number;
  header: boolean;
  headerFields: number;
  labels: string[];
  timeSteps: TimeSteps | null;
  adcGain: number | undefined;
  adcZero: number | undefined;
}

/** The data lines: values go straight into each lead's Float32Array; the time column is checked as it goes. */
class RowParser {
  readonly signals: Float32Array[];
  rows = 0;
  /** 1-based number of the last line handled. */
  line = 0;
  private readonly s: ParserSetup;
  private readonly ncols: number;
  private readonly kinds: Uint8Array;
  private readonly leadCols: Int32Array;
  private readonly delim: number;
  private readonly vals: Float64Array;
  private readonly adc: boolean;
  private readonly gain: number;
  private readonly zero: number;
  /** The time column's index (0), or -1 without one. */
  private readonly timeCol: number;
  private readonly timeSteps: TimeSteps | null;
  /** The decimals of the time cell on the line being parsed. */
  private timeDec = 0;

  constructor(setup: ParserSetup) {
    this.s = setup;
    this.ncols = setup.kinds.length;
    this.kinds = setup.kinds;
    this.leadCols = Int32Array.from(setup.leadCols);
    this.delim = setup.delimiter.charCodeAt(0);
    this.vals = new Float64Array(this.ncols);
    this.signals = setup.leadCols.map(() => new Float32Array(setup.capacity));
    this.adc = setup.adcGain !== undefined || setup.adcZero !== undefined;
    this.gain = setup.adcGain ?? 1;
    this.zero = setup.adcZero ?? 0;
    this.timeSteps = setup.timeSteps;
    this.timeCol = setup.timeSteps === null ? -1 : 0;
  }

  /** Parses the lines in b[start, end); b[end - 1] is '\n'. */
  parse(b: Buffer, start: number, end: number): void {
    let p = start;
    while (p < end) {
      this.line++;
      const c = b[p];
      if (c === 10) {
        p++;
        continue;
      }
      if (c === 13 && b[p + 1] === 10) {
        p += 2;
        continue;
      }
      const next = this.fastLine(b, p);
      if (next >= 0) {
        this.commit(b, p);
        p = next;
      } else {
        const nl = b.indexOf(10, p);
        this.slowLine(b, p, nl);
        p = nl + 1;
      }
    }
  }

  /**
   * One line of plain numbers into this.vals: returns the start of the next line, or -1 for
   * anything it does not know (the slow path then decides). Every scan stops at the '\n'.
   */
  private fastLine(b: Buffer, p: number): number {
    const ncols = this.ncols;
    const delim = this.delim;
    const comma = this.s.decimalComma;
    const vals = this.vals;
    const timeCol = this.timeCol;
    let ch = b[p]!;
    for (let c = 0; c < ncols; c++) {
      while (ch === 32 || (ch === 9 && delim !== 9)) ch = b[++p]!;
      let quote = 0;
      if (ch === 34 || ch === 39) {
        quote = ch;
        ch = b[++p]!;
      }
      if (this.kinds[c] !== COL_SKIP) {
        let neg = false;
        if (ch === 45) {
          neg = true;
          ch = b[++p]!;
        } else if (ch === 43) {
          ch = b[++p]!;
        }
        const numStart = p;
        // Up to 15 significant digits, exactly, in m; the value is m * 10^e10.
        let m = 0;
        let nd = 0;
        let e10 = 0;
        let digits = 0;
        let frac = 0;
        let slow = false;
        while (ch >= 48 && ch <= 57) {
          digits++;
          if (m !== 0 || ch !== 48) {
            if (nd < 15) {
              m = m * 10 + (ch - 48);
              nd++;
            } else slow = true;
          }
          ch = b[++p]!;
        }
        if (ch === 46 || (ch === 44 && comma)) {
          ch = b[++p]!;
          while (ch >= 48 && ch <= 57) {
            digits++;
            frac++;
            if (m !== 0 || ch !== 48) {
              if (nd < 15) {
                m = m * 10 + (ch - 48);
                nd++;
                e10--;
              } else slow = true;
            } else e10--;
            ch = b[++p]!;
          }
        }
        if (digits === 0) return -1;
        let ex = 0;
        if (ch === 101 || ch === 69) {
          ch = b[++p]!;
          let eneg = false;
          if (ch === 45) {
            eneg = true;
            ch = b[++p]!;
          } else if (ch === 43) {
            ch = b[++p]!;
          }
          let ed = 0;
          while (ch >= 48 && ch <= 57) {
            if (ex < 1e6) ex = ex * 10 + (ch - 48);
            ed++;
            ch = b[++p]!;
          }
          if (ed === 0) return -1;
          if (eneg) ex = -ex;
          e10 += ex;
        }
        let v: number;
        // Both m and 10^|e10| are exact doubles here, so one multiply or divide rounds correctly
        // (Clinger's fast path): the same double as Number(text).
        if (!slow && e10 >= -22 && e10 <= 22) v = e10 < 0 ? m / P10[-e10]! : m * P10[e10]!;
        else v = Number(b.toString('latin1', numStart, p).replace(',', '.'));
        vals[c] = neg ? -v : v;
        if (c === timeCol) this.timeDec = frac - ex;
      }
      if (quote !== 0) {
        if (ch !== quote) return -1;
        ch = b[++p]!;
      }
      while (ch === 32 || (ch === 9 && delim !== 9)) ch = b[++p]!;
      if (c < ncols - 1) {
        if (ch !== delim) return -1;
        ch = b[++p]!;
      }
    }
    if (ch === 13) ch = b[++p]!;
    return ch === 10 ? p + 1 : -1;
  }

  /** A line the fast path refused, with csv-parse: either valid after all, or a precise error. */
  private slowLine(b: Buffer, start: number, nl: number): void {
    let text = b.toString('utf8', start, nl);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() === '') return;
    const { path, delimiter, decimalComma, header, headerFields, labels } = this.s;
    let fields: string[];
    try {
      fields = splitLine(text, delimiter);
    } catch {
      fields = text.split(delimiter); // e.g. an unclosed quote: the cell check below names the cell
    }
    const where = `${path}: line ${this.line}`;
    if (fields.length !== this.ncols) {
      const than = header ? 'the header has' : 'the first line has';
      throw new MamError(`${where} has ${fields.length} fields where ${than} ${headerFields}: a truncated or damaged line? fix or remove it`, { file: path });
    }
    for (let c = 0; c < this.ncols; c++) {
      const cell = cleanName(fields[c]!);
      const at = `${where}, column ${c + 1} (${labels[c]})`;
      if (this.kinds[c] === COL_SKIP) {
        if (cell !== '') throw new MamError(`${at}: ${show(cell)} under a header with no name: name the column or remove the value`, { file: path });
        continue;
      }
      if (cell === '') throw new MamError(`${at}: empty cell: every row needs a number in every column; fill it or remove the line`, { file: path });
      if (NONFINITE.test(cell)) throw new MamError(`${at}: ${show(cell)} is not a finite number: fill the gap (e.g. interpolate) or cut the record there`, { file: path });
      const num = decimalComma ? cell.replace(',', '.') : cell;
      if (!NUMBER.test(num)) throw new MamError(`${at}: ${show(cell)} is not a number: every cell must be a plain number; fix or remove the line`, { file: path });
      this.vals[c] = Number(num);
      if (c === this.timeCol) {
        const m = /^[^eE]*?(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(num);
        this.timeDec = (m?.[1]?.length ?? 0) - Number(m?.[2] ?? 0);
      }
    }
    this.commit(b, start);
  }

  private commit(b: Buffer, lineStart: number): void {
    const r = this.rows;
    if (r >= this.s.capacity) throw new MamError(`${this.s.path}: the file grew while being read: read it again once it is complete`, { file: this.s.path });
    if (this.timeSteps !== null) {
      const problem = this.timeSteps.add(this.vals[this.timeCol]!, this.timeDec);
      if (problem !== null) this.timeError(problem);
    }
    const vals = this.vals;
    const cols = this.leadCols;
    const signals = this.signals;
    for (let k = 0; k < cols.length; k++) {
      const v = vals[cols[k]!]!;
      const f = Math.fround(this.adc ? (v - this.zero) / this.gain : v);
      if (f - f !== 0) this.rangeError(b, lineStart, cols[k]!, v);
      signals[k]![r] = f;
    }
    this.rows = r + 1;
  }

  private rangeError(b: Buffer, lineStart: number, c: number, v: number): never {
    const nl = b.indexOf(10, lineStart);
    const line = b.toString('utf8', lineStart, nl < 0 ? undefined : nl);
    const cell = cleanName(line.split(this.s.delimiter)[c] ?? String(v));
    const why = this.adc ? 'after ADC conversion, beyond' : 'beyond';
    throw new MamError(`${this.s.path}: line ${this.line}, column ${c + 1} (${this.s.labels[c]}): ${show(cell)} is ${why} the float32 range (3.4e38): fix the cell`, { file: this.s.path });
  }

  private timeError(what: string): never {
    const { path, labels } = this.s;
    throw new MamError(`${path}: line ${this.line}, column 1 (${labels[0]}): ${what}`, { file: path });
  }
}
