// The first look at a file, from the bytes at its start: is it text at all, where its first
// line is, and how its cells are split. Rules:
//
// - gzip, zip, UTF-16 and binary data (a NUL byte) are refused by name: they would otherwise
//   fail on some odd cell further down. A UTF-8 BOM is skipped.
// - Blank lines before the first line are skipped; the first line ends at the first '\n'
//   outside double quotes (a quoted name may hold anything). A bare CR is refused.
// - Delimiter: tab, semicolon or comma, the first of these found in the first line. With tab
//   or semicolon a decimal comma is accepted too (0,125).
import { MamError } from '../../errors.js';
import { isBlank } from './text.js';
import type { Delimiter } from './types.js';

/** The first non-blank line: the header, or the first row of a file without one. */
export interface FirstLine {
  /** Its 1-based line number. */
  line: number;
  /** Its bytes are buf[start, end); buf[end] is its '\n', or end is the end of the head. */
  start: number;
  end: number;
  /** Its text, without the line end. */
  text: string;
  delimiter: Delimiter;
  decimalComma: boolean;
}

/**
 * Sniffs buf[0, headLen), the start of the file (all of it if wholeFile): the first line
 * and the delimiter, or a MamError saying why this is not a CSV of samples.
 */
export function sniffHead(buf: Buffer, headLen: number, wholeFile: boolean, path: string): FirstLine {
  const bom = checkText(buf, headLen, path);
  const { line, start } = skipBlankLines(buf, bom, headLen, wholeFile, path);
  const end = endOfFirstLine(buf, start, headLen, wholeFile, line, path);
  let text = buf.toString('utf8', start, end);
  if (text.endsWith('\r')) text = text.slice(0, -1);
  if (text.includes('\r')) throw bareCr(path, line);
  const delimiter = sniffDelimiter(text);
  return { line, start, end, text, delimiter, decimalComma: delimiter !== ',' };
}

/** Refuses compressed, UTF-16 and binary files; returns the length of a UTF-8 BOM (0 or 3). */
function checkText(buf: Buffer, headLen: number, path: string): number {
  const b0 = buf[0];
  const b1 = buf[1];
  if (headLen >= 2 && b0 === 0x1f && b1 === 0x8b) throw new MamError(`${path}: gzip-compressed, not CSV text: decompress it first (gunzip)`, { file: path });
  if (headLen >= 4 && buf.readUInt32BE(0) === 0x504b0304) throw new MamError(`${path}: a zip archive, not CSV text: unzip it first`, { file: path });
  if (headLen >= 2 && ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff))) {
    throw new MamError(`${path}: UTF-16 text: save it as UTF-8 (or plain ASCII) CSV`, { file: path });
  }
  const nul = buf.subarray(0, Math.min(headLen, 1 << 16)).indexOf(0);
  if (nul >= 0) throw new MamError(`${path}: binary data (a NUL byte at offset ${nul}), not CSV text: give a CSV file`, { file: path });
  return headLen >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
}

/** The line number and start of the first line that is not blank. */
function skipBlankLines(buf: Buffer, from: number, headLen: number, wholeFile: boolean, path: string): { line: number; start: number } {
  let line = 1;
  let start = from;
  for (;;) {
    const nl = buf.indexOf(10, start);
    const end = nl < 0 || nl >= headLen ? headLen : nl;
    if (!isBlank(buf, start, end)) return { line, start };
    if (end === headLen) {
      if (wholeFile) throw new MamError(`${path}: empty file (only blank lines): give a CSV with one row per sample`, { file: path });
      throw new MamError(`${path}: more than 1 MiB of blank space at the start: not a CSV of samples`, { file: path });
    }
    start = nl + 1;
    line++;
  }
}

/** The first '\n' from start outside double quotes, or headLen for a file of one line. */
function endOfFirstLine(buf: Buffer, start: number, headLen: number, wholeFile: boolean, line: number, path: string): number {
  let quoted = false;
  for (let i = start; i < headLen; i++) {
    const c = buf[i];
    if (c === 34) quoted = !quoted;
    else if (c === 10 && !quoted) return i;
  }
  if (quoted) throw new MamError(`${path}: line ${line}: a " opens a quoted name that never closes: close the quote`, { file: path });
  if (buf.subarray(start, headLen).includes(13)) throw bareCr(path, line);
  if (!wholeFile) throw new MamError(`${path}: line ${line} is longer than 1 MiB: not a CSV with one row per sample`, { file: path });
  return headLen;
}

function bareCr(path: string, line: number): MamError {
  return new MamError(`${path}: line ${line} holds a bare CR: old Mac line ends (CR only)? convert them to LF or CRLF`, { file: path });
}

/**
 * Tab, then semicolon, then comma: the first found in the first line (outside quotes). A comma
 * can be a decimal comma in the other two, never the reverse. The first line alone decides, so
 * that a damaged line further down cannot change how the file is split.
 */
function sniffDelimiter(first: string): Delimiter {
  for (const d of ['\t', ';'] as const) if (countOutsideQuotes(first, d) > 0) return d;
  return ',';
}

function countOutsideQuotes(line: string, ch: string): number {
  let n = 0;
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if (c === ch && !quoted) n++;
  }
  return n;
}
