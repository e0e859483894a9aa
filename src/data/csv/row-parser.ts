// The data lines, parsed straight from the bytes: csv-parse alone reads about 0.4 M rows/s
// here (3 columns, cast: false, arrays), too slow for a 24-hour record (31 M rows). So plain
// numeric lines take a byte-level fast path, and a line it refuses goes to csv-parse, either
// to accept an unusual but valid form or to say exactly what is wrong with it.
//
// This is the hot loop of reading a file. fastLine is long on purpose: it parses a whole line,
// numbers included, in one call. Cut into a call per number, V8 cannot inline that call (too
// much bytecode) and a read costs 5% more instructions (measured with callgrind).
import { MamError, msg, type Message } from '../../errors.js';
import { COL_SKIP, type Columns } from './header.js';
import type { TimeSteps } from './sampling-rate.js';
import { cleanName, NONFINITE, NUMBER, show, splitLine } from './text.js';
import type { Delimiter } from './types.js';

/** Powers of ten that are exact doubles. */
const P10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

export interface ParserSetup {
  path: string;
  columns: Columns;
  delimiter: Delimiter;
  decimalComma: boolean;
  /** An upper bound of the data rows: each lead's Float32Array is allocated once, this long. */
  capacity: number;
  /** Follows the time column; null without one. */
  timeSteps: TimeSteps | null;
  adcGain: number | undefined;
  adcZero: number | undefined;
}

/** The data lines: values go straight into each lead's Float32Array; the time column is checked as it goes. */
export class RowParser {
  readonly signals: Float32Array[];
  rows = 0;
  /** 1-based number of the last line handled. */
  line = 0;
  private readonly s: ParserSetup;
  private readonly ncols: number;
  private readonly kinds: Uint8Array;
  private readonly leadCols: Int32Array;
  private readonly delim: number;
  /** The current line's numbers, one per column (skipped columns keep 0). */
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
    const { kinds, leadCols } = setup.columns;
    this.s = setup;
    this.ncols = kinds.length;
    this.kinds = kinds;
    this.leadCols = Int32Array.from(leadCols);
    this.delim = setup.delimiter.charCodeAt(0);
    this.vals = new Float64Array(this.ncols);
    this.signals = leadCols.map(() => new Float32Array(setup.capacity));
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
   * Per cell: spaces, an optional quote, sign, digits, fraction, exponent, the value, the
   * closing quote, spaces, the delimiter. One function, for speed (see the top of the file).
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
    const { path, delimiter, decimalComma } = this.s;
    const { header, labels } = this.s.columns;
    let fields: string[];
    try {
      fields = splitLine(text, delimiter);
    } catch {
      fields = text.split(delimiter); // e.g. an unclosed quote: the cell check below names the cell
    }
    const where = `${path}: line ${this.line}`;
    if (fields.length !== this.ncols) {
      const than = header ? 'the header has' : 'the first line has';
      throw new MamError(`${where} has ${fields.length} fields where ${than} ${this.ncols}: a truncated or damaged line? fix or remove it`, { file: path });
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
    throw new MamError(`${this.s.path}: line ${this.line}, column ${c + 1} (${this.s.columns.labels[c]}): ${show(cell)} is ${why} the float32 range (3.4e38): fix the cell`, { file: this.s.path });
  }

  private timeError(what: string | Message): never {
    const { path } = this.s;
    const { labels } = this.s.columns;
    throw new MamError(msg`${path}: line ${this.line}, column 1 (${labels[0]}): ${what}`, { file: path });
  }
}
