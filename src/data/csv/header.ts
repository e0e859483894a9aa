// The first line, header or first data row, and what each column holds. Rules:
//
// - Header or not: a first line whose cells are all numbers is data, and the leads are then
//   named by their index ('0', '1', ...).
// - Names: csv-parse unquotes them; single quotes as in MIT-BIH exports ('sample #','MLII','V5')
//   and a second layer of either kind are stripped.
// - Time column: a first column named like time, time_s, time (ms), sample, 'sample #' or
//   index; its unit decides what it can say about the sampling rate (see sampling-rate.ts).
// - A trailing delimiter on every line (some exporters) makes an empty, nameless last column:
//   it is ignored.
// - options.lead: a name (case-insensitive, quotes ignored) or a 0-based index among the signal
//   columns (the time column does not count). Default: the first signal column.
import { MamError, msg, RequestError } from '../../errors.js';
import type { FirstLine } from './sniff.js';
import { cleanName, NONFINITE, NUMBER, splitLine } from './text.js';
import type { TimeColumn, TimeUnit } from './types.js';

// What a column holds: one byte per column, read for every cell by the row parser.
export const COL_LEAD = 0;
export const COL_TIME = 1;
export const COL_SKIP = 2;

const SECONDS = /^(time|t|elapsed[ _]?time)([ _]*[([]?(s|sec|secs|seconds)[)\]]?)?$|^(sec|secs|seconds)$/;
const MILLIS = /^(time|t|elapsed[ _]?time)[ _]*[([]?(ms|msec|millis|milliseconds)[)\]]?$|^ms$/;
const SAMPLES = /^(sample|samples|sample[ _]?(#|no\.?|nr\.?|num|number|index|idx)|#|index|idx)$/;

/** The file's columns, from its first line. */
export interface Columns {
  /** The first line names the columns (else it is the first data row). */
  header: boolean;
  /** One of COL_LEAD, COL_TIME, COL_SKIP per column, in file order. */
  kinds: Uint8Array;
  timeColumn: TimeColumn | null;
  /** The lead columns' indices in the file, and their names. */
  leadCols: number[];
  leads: string[];
  /** Every column as an error message names it: its name, or 'lead 0', or 'no name'. */
  labels: string[];
}

export function readColumns(path: string, first: FirstLine): Columns {
  const names = splitNames(path, first);
  const ncols = names.length;
  const trailingEmpty = ncols > 1 && names[ncols - 1] === '';
  const numeric = (s: string) => NUMBER.test(first.decimalComma ? s.replace(',', '.') : s) || NONFINITE.test(s);
  const header = !names.every((s, i) => numeric(s) || (trailingEmpty && i === ncols - 1));

  const kinds = new Uint8Array(ncols);
  const unit = header && ncols > 1 ? timeUnitOf(names[0]!) : null;
  const timeColumn = unit ? { name: names[0]!, unit } : null;
  if (timeColumn) kinds[0] = COL_TIME;
  if (trailingEmpty) kinds[ncols - 1] = COL_SKIP;
  const leadCols: number[] = [];
  for (let c = 0; c < ncols; c++) if (kinds[c] === COL_LEAD) leadCols.push(c);
  const leads = leadCols.map((c, i) => (header && names[c] !== '' ? names[c]! : String(i)));
  if (leads.length === 0) throw new MamError(`${path}: line ${first.line}: only a time column, no lead: add the signal columns`, { file: path });

  const labels = names.map((name, c) => (kinds[c] === COL_SKIP ? 'no name'
    : kinds[c] === COL_LEAD && !(header && name !== '') ? `lead ${leads[leadCols.indexOf(c)]}` : name));
  return { header, kinds, timeColumn, leadCols, leads, labels };
}

/** The first line's cells as names, one line each (quoted names may hold line breaks). */
function splitNames(path: string, first: FirstLine): string[] {
  let raw: string[];
  try {
    raw = splitLine(first.text, first.delimiter);
  } catch (e) {
    throw new MamError(`${path}: line ${first.line}: ${(e as Error).message.split('\n', 1)[0]}: fix the header`, { file: path, cause: e });
  }
  return raw.map((s) => cleanName(s).replace(/\s+/g, ' '));
}

function timeUnitOf(name: string): TimeUnit | null {
  const n = name.toLowerCase();
  return SECONDS.test(n) ? 'seconds' : MILLIS.test(n) ? 'milliseconds' : SAMPLES.test(n) ? 'samples' : null;
}

/** The index in `leads` of options.lead (a name or an index), or a MamError listing the leads. */
export function resolveLead(path: string, leads: string[], lead: string | number | undefined): number {
  if (lead === undefined) return 0;
  const list = leads.length === 1 ? `the only lead is ${leads[0]}` : `leads: ${leads.map((l, i) => `${i} ${l}`).join(', ')}`;
  if (typeof lead === 'string') {
    const want = cleanName(lead).toLowerCase();
    const hits = leads.flatMap((l, i) => (l.toLowerCase() === want ? [i] : []));
    if (hits.length > 1) throw new RequestError(msg`${path}: lead name "${lead}" is ambiguous (leads ${hits.join(' and ')}): give {lead} as a 0-based index (${list})`, { file: path });
    if (hits.length === 1) return hits[0]!;
    if (!/^\d+$/.test(want)) throw new RequestError(msg`${path}: no lead "${lead}": give {lead} as a name or 0-based index (${list})`, { file: path });
  }
  const i = Number(lead);
  if (i >= leads.length) throw new RequestError(msg`${path}: no lead ${i} (indices count from 0): give {lead} as a name or 0-based index (${list})`, { file: path });
  return i;
}
