// Small text helpers that the header and the row parser share: what a number cell looks like,
// cleaning a name, quoting a cell in a message, splitting one line with csv-parse.
import { parse as parseCsv } from 'csv-parse/sync';

export const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
export const NONFINITE = /^[+-]?(nan|inf|infinity)$/i;

/** Trims and strips quotes of either kind, repeatedly ("'MLII'" -> MLII). */
export function cleanName(s: string): string {
  let t = s.trim();
  while (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t[t.length - 1] === t[0]) t = t.slice(1, -1).trim();
  return t;
}

/** A cell as it stands in an error message: quoted, and cut so the message stays one short line. */
export function show(cell: string): string {
  return JSON.stringify(cell.length > 40 ? `${cell.slice(0, 40)}...` : cell);
}

/**
 * The fields of one line (no line end), unquoted by csv-parse. Lenient about stray quotes and
 * the field count, so that the caller can say what is wrong; throws on an unclosed quote.
 */
export function splitLine(text: string, delimiter: string): string[] {
  return (parseCsv(text, { delimiter, relax_quotes: true, relax_column_count: true }) as string[][])[0] ?? [''];
}

/** Only spaces, tabs and line ends in b[start, end). */
export function isBlank(b: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10) return false;
  }
  return true;
}
