// MIT-format annotation files (WFDB .atr, .qrs): the beats and events a record is labelled with.
//
// The file is 16-bit little-endian words. Each word holds a code (top 6 bits) and a 10-bit
// field (the low 10 bits); for codes 0..49 the field is the time since the previous annotation,
// added to a running sample number. The codes above 58 are pseudo-annotations:
//   word 0           end of file. A file that ends after a whole annotation without it is read
//                    too (endMarker: false), as the WFDB library does.
//   59 SKIP          the next 4 bytes are a signed 32-bit time step, high 16-bit word first, each
//                    word little-endian; it is added to the running time (the SKIP word's own
//                    10 bits are ignored, as WFDB does).
//   60 NUM, 62 CHN   set num / chan of the annotation just read; later annotations start with
//                    the same num and chan until the next NUM or CHN (WFDB carries them over).
//   61 SUB           sets the subtype of the annotation just read only (others start at 0).
//   63 AUX           the low 8 bits are a length L (WFDB reads 8, the top 2 bits are ignored),
//                    then L bytes of text, padded to an even count; it belongs to the annotation
//                    just read. The text is latin1, cut at the first NUL (WFDB's aux is a C
//                    string: in MIT-BIH the rhythm "(N" is stored as the 3 bytes "(N\0").
// Choices where the format leaves room:
//   - num, chan and subtype are the field's 10 bits read unsigned (0..1023). WFDB keeps them in a
//     signed char, so values above 127 differ from it; no MIT-BIH file has any.
//   - codes the standard table does not name (15, 17, 42..58) are kept as annotations with the
//     symbol WFDB prints for them, "[code]", so nothing is dropped and none is mistaken for '?'.
//     Code 0 with a time step (NOTQRS) is kept too, with the symbol ''.
//   - SUB or AUX before the first annotation, an odd byte count and a file cut inside a SKIP or
//     an AUX are errors; bytes after the end word are not read.
import { readFile } from 'node:fs/promises';
import { MamError } from '../../errors.js';
import { fileError } from '../files.js';

export interface Annotation {
  /** Sample number in the record (at the record's own sampling rate). */
  sample: number;
  /** MIT annotation code, 0..58. */
  code: number;
  /** WFDB mnemonic: 'N', 'V', '+', ... ('[15]' for a code without one). */
  symbol: string;
  subtype: number;
  chan: number;
  num: number;
  aux?: string;
}

export interface AnnotationFile {
  path: string;
  annotations: Annotation[];
  /** Whether the file ended with the end word (0); false if it just stopped. */
  endMarker: boolean;
}

/** WFDB's mnemonics by code (ecgcodes.h); '' where WFDB has none. */
const SYMBOLS: readonly string[] = [
  '', 'N', 'L', 'R', 'a', 'V', 'F', 'J', 'A', 'S', // 0 - 9
  'E', 'j', '/', 'Q', '~', '', '|', '', 's', 'T', // 10 - 19
  '*', 'D', '"', '=', 'p', 'B', '^', 't', '+', 'u', // 20 - 29
  '?', '!', '[', ']', 'e', 'n', '@', 'x', 'f', '(', // 30 - 39
  ')', 'r', // 40 - 41
];

const SKIP = 59, NUM = 60, SUB = 61, CHN = 62, AUX = 63;

/** The mnemonic of a code, "[code]" for codes the table does not name (as WFDB prints them). */
export function symbolOf(code: number): string {
  if (code === 0) return '';
  return SYMBOLS[code] || `[${code}]`;
}

/** Parses the bytes of an MIT-format annotation file; `path` is only used in messages. */
export function parseAnnotations(bytes: Uint8Array, path: string): AnnotationFile {
  const fail = (offset: number, what: string): never => {
    throw new MamError(`${path}: byte ${offset}: ${what}: give a whole MIT-format annotation file (.atr, .qrs)`, { file: path });
  };
  const annotations: Annotation[] = [];
  let time = 0, num = 0, chan = 0;
  let last: Annotation | undefined;
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 2 > bytes.length) fail(offset, `the file ends inside a 16-bit word (odd size, ${bytes.length} bytes)`);
    const at = offset;
    const word = bytes[offset]! | (bytes[offset + 1]! << 8);
    offset += 2;
    if (word === 0) return { path, annotations, endMarker: true };
    const code = word >> 10;
    const field = word & 0x3ff;
    switch (code) {
      case SKIP: {
        if (offset + 4 > bytes.length) fail(at, 'the file ends inside a SKIP (it needs 4 more bytes)');
        // High word first, each word little-endian; | 0 makes it signed.
        const step = ((bytes[offset + 1]! << 24) | (bytes[offset]! << 16) | (bytes[offset + 3]! << 8) | bytes[offset + 2]!) | 0;
        time += step;
        offset += 4;
        break;
      }
      case NUM:
        num = field;
        if (last) last.num = field;
        break;
      case CHN:
        chan = field;
        if (last) last.chan = field;
        break;
      case SUB:
        if (!last) fail(at, 'a SUB before any annotation');
        last!.subtype = field;
        break;
      case AUX: {
        const length = word & 0xff;
        const padded = length + (length & 1);
        if (offset + padded > bytes.length) fail(at, `the file ends inside an AUX of ${length} bytes`);
        if (!last) fail(at, 'an AUX before any annotation');
        const text = Buffer.from(bytes.buffer, bytes.byteOffset + offset, length).toString('latin1');
        const nul = text.indexOf('\0');
        last!.aux = nul < 0 ? text : text.slice(0, nul);
        offset += padded;
        break;
      }
      default:
        time += field;
        last = { sample: time, code, symbol: symbolOf(code), subtype: 0, chan, num };
        annotations.push(last);
    }
  }
  return { path, annotations, endMarker: false };
}

/** Reads and parses an annotation file; a missing or unreadable file is a MamError naming it. */
export async function readAnnotations(path: string): Promise<AnnotationFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw fileError(path, e);
  }
  return parseAnnotations(bytes, path);
}

// Beats as the MIT-BIH labels them: N L R a V F J A S E j / Q (1..13), B (25), e (34), f (38).
// WFDB's isqrs() also counts ? ! n r (30, 31, 35, 41), which mark no beat class here.
const BEAT_CODES = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 25, 34, 38]);

/** Whether an annotation code labels a beat (see BEAT_CODES). */
export function isBeat(code: number): boolean {
  return BEAT_CODES.has(code);
}

export type AamiClass = 'N' | 'S' | 'V' | 'F' | 'Q';

// ANSI/AAMI EC57 classes. B (bundle branch block, unspecified) has no class there; it goes to Q
// (unclassifiable) rather than N, so that it cannot pass for a normal beat.
const AAMI: Readonly<Record<string, AamiClass>> = {
  N: 'N', L: 'N', R: 'N', e: 'N', j: 'N',
  A: 'S', a: 'S', J: 'S', S: 'S',
  V: 'V', E: 'V',
  F: 'F',
  '/': 'Q', f: 'Q', Q: 'Q', B: 'Q',
};

/** The AAMI class of a beat symbol; undefined for symbols that are not beats. */
export function aamiClass(symbol: string): AamiClass | undefined {
  return Object.hasOwn(AAMI, symbol) ? AAMI[symbol] : undefined;
}

export interface BeatCount {
  symbol: string;
  aami: AamiClass;
  count: number;
}

/** How many beats of each symbol, most frequent first (ties by code). Non-beats are left out. */
export function beatCounts(annotations: readonly Annotation[]): BeatCount[] {
  const counts = new Map<number, number>();
  for (const a of annotations) if (isBeat(a.code)) counts.set(a.code, (counts.get(a.code) ?? 0) + 1);
  return [...counts]
    .sort(([codeA, a], [codeB, b]) => b - a || codeA - codeB)
    .map(([code, count]) => ({ symbol: symbolOf(code), aami: aamiClass(symbolOf(code))!, count }));
}
