// Reads a WFDB record: its header, then each signal file it names, streamed in chunks and
// decoded straight into one Float32Array per kept signal, in physical units (mV for ECG).
//
// - Frames: the signals of one file are interleaved frame by frame, each giving its samples per
//   frame (SPF) in turn; a signal's rate is the frame rate times its SPF.
// - Skew s: the signal's sample i is in frame i + s, so its first s frames' samples are dropped
//   and it has s * SPF samples fewer than the others (WFDB would read past the end for them).
// - Checks, for every signal of every file read (all its frames are): the first stored sample
//   against the header's initial value, and the 16-bit sum of the stored samples against its
//   checksum (written signed or unsigned: compared modulo 65536). Both are over the samples as
//   stored, before any skew. A mismatch is an error by default (the header does not describe
//   the file: a wrong or damaged file would otherwise train a model silently); with
//   verify: false it becomes a note on the record.
// - Memory: 4 bytes per kept sample, plus one chunk buffer; signals not kept are decoded and
//   checked but not stored.
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MamError, msg, RequestError } from '../../errors.js';
import { fileError, readAt, regularFileSize, withOpenFile } from '../files.js';
import type { EcgRecord } from '../record.js';
import { bytesFor, decodeSamples, GROUP_ALIGN, INVALID_SAMPLE, samplesIn } from './formats.js';
import { parseHeader, type WfdbHeader, type WfdbSignalSpec } from './header.js';

export interface WfdbReadOptions {
  /** A signal's description (case-insensitive) or its 0-based index in the header. Default: the first signal in volts. */
  lead?: string | number;
  /** Check initial values and checksums (default true); false turns a mismatch into a note. */
  verify?: boolean;
  /** 'lead' (default): read only the file holding the lead; 'all': every signal, e.g. for an overview. */
  signals?: 'lead' | 'all';
  /**
   * Samples stored as WFDB's invalid value (a gap): 'refuse' (default) makes them in the lead an
   * error, since resampling and filtering cannot bridge them; 'keep' reads them as NaN and
   * counts them (WfdbRecord.invalid), for an overview.
   */
  gaps?: 'refuse' | 'keep';
}

/** A WFDB record: the chosen lead as an EcgRecord (name = the header's path), plus what the header says of every signal. */
export interface WfdbRecord extends EcgRecord {
  kind: 'wfdb';
  header: WfdbHeader;
  /** Each signal's name: its description, or 'signal N' without one. */
  leads: string[];
  /** Each signal in physical units (mV, or its own units when not volts); null when its file was not read. */
  signals: Array<Float32Array | null>;
  /** Each signal's rate in Hz (the frame rate times its samples per frame). */
  rates: number[];
  leadIndex: number;
  fsSource: string;
  /** Samples of the chosen lead. */
  rows: number;
  /** Per signal: 'ok', 'not stated' or what did not match; null when its file was not read. */
  checks: Array<string | null>;
  /** Per signal: how many samples are WFDB's invalid value (NaN in `signals`); null when its file was not read. */
  invalid: Array<number | null>;
  /** For the user: mismatches let through by verify: false, frame counts taken from file sizes. */
  notes: string[];
}

/** Millivolts per unit, for the units an ECG lead may be given in. */
const MILLIVOLTS: Record<string, number> = { mv: 1, uv: 1e-3, 'μv': 1e-3, 'µv': 1e-3, v: 1e3 };

/** Millivolts per unit of a signal, or undefined when it is not a voltage. */
export function millivoltsPer(units: string): number | undefined {
  return MILLIVOLTS[units.toLowerCase()];
}

const CHUNK = (1 << 20) - ((1 << 20) % GROUP_ALIGN);

/** The header path of a record given as NAME.hea or as NAME without extension. */
export function headerPath(path: string): string {
  return /\.hea$/i.test(path) ? path : `${path}.hea`;
}

/** The signal files a header names, as paths beside it (in header order, each once). */
export function signalFiles(headerFile: string, header: WfdbHeader): string[] {
  return [...new Set(header.signals.map((s) => s.file))].map((f) => join(dirname(headerFile), f));
}

export async function readWfdbHeader(path: string): Promise<WfdbHeader> {
  const file = headerPath(path);
  await regularFileSize(file, 'WFDB header', 'it is parsed whole');
  let text: string;
  try {
    text = await fsp.readFile(file, 'latin1');
  } catch (e) {
    throw fileError(file, e);
  }
  return parseHeader(text, file);
}

/** Reads a record given as NAME.hea or NAME (see the opening comment for what is checked). */
export async function readWfdbRecord(path: string, options: WfdbReadOptions = {}): Promise<WfdbRecord> {
  const file = headerPath(path);
  const header = await readWfdbHeader(file);
  const leads = header.signals.map((s, i) => s.description.trim() || `signal ${i}`);
  const leadIndex = chooseLead(file, header, leads, options.lead);
  const lead = header.signals[leadIndex]!;
  const notes: string[] = [];
  const signals: Array<Float32Array | null> = header.signals.map(() => null);
  const checks: Array<string | null> = header.signals.map(() => null);
  const invalid: Array<number | null> = header.signals.map(() => null);

  // The files to read, each with its signals (in header order, which is frame order).
  const byFile = new Map<string, number[]>();
  header.signals.forEach((s, i) => byFile.set(s.file, [...(byFile.get(s.file) ?? []), i]));
  const files = [...byFile].filter(([name]) => options.signals === 'all' || name === lead.file);
  const frames = header.frames ?? await framesFromSizes(file, header, byFile, notes);

  for (const [name, members] of files) {
    const got = await readSignalFile(file, join(dirname(file), name), header, members, frames);
    for (const [k, i] of members.entries()) {
      signals[i] = got.values[k]!;
      invalid[i] = got.invalid[k]!.count;
      if (i === leadIndex && got.invalid[k]!.count > 0 && options.gaps !== 'keep') {
        const { count, first: at } = got.invalid[k]!;
        const spec = header.signals[i]!;
        throw new MamError(`${file}: signal ${i} (${leads[i]}): ${count} samples hold WFDB's invalid value (${INVALID_SAMPLE[spec.format]} in format ${spec.format}: a gap or a lead off), the first at sample ${at} (${(at / (header.fs * spec.samplesPerFrame)).toFixed(1)} s): mam does not bridge gaps; choose another lead, or a record or segment without them`, { file });
      }
      const check = checkSignal(header.signals[i]!, got.first[k]!, got.sums[k]!);
      checks[i] = check.status;
      if (check.status !== 'ok' && check.status !== 'not stated') {
        const what = `${file}: line ${header.signals[i]!.line}: signal ${i} (${leads[i]}): ${check.status}`;
        if (!check.error) notes.push(`note: ${what} (the checksum agrees: the initial value is stale)`);
        else if (options.verify === false) notes.push(`warning: ${what}`);
        else throw new MamError(`${what}: the header does not describe ${join(dirname(file), name)} (a damaged or wrong file?); get the record again, or give --no-verify to read it anyway`, { file });
      }
    }
  }
  const signal = signals[leadIndex]!;
  const rates = header.signals.map((s) => header.fs * s.samplesPerFrame);
  return {
    kind: 'wfdb', name: file, fs: rates[leadIndex]!, lead: leads[leadIndex]!, signal,
    header, leads, signals, rates, leadIndex, fsSource: header.fsSource, rows: signal.length, checks, invalid, notes,
  };
}

function chooseLead(file: string, header: WfdbHeader, leads: string[], lead: string | number | undefined): number {
  const list = () => leads.map((l, i) => `${i} ${l} (${header.signals[i]!.units})`).join(', ');
  let index: number;
  if (lead === undefined) {
    index = header.signals.findIndex((s) => millivoltsPer(s.units) !== undefined);
    if (index < 0) throw new MamError(msg`${file}: no signal is in volts (${list()}): no ECG lead to read; give a record with an ECG signal`, { file });
    return index;
  }
  if (typeof lead === 'number') {
    if (!(Number.isInteger(lead) && lead >= 0)) throw new RequestError(msg`{lead} ${lead}: a lead index must be a whole number from 0`);
    index = lead;
    if (index >= leads.length) throw new MamError(msg`${file}: {lead} ${lead}: the record has ${leads.length} signals (${list()}): give an index from 0 to ${leads.length - 1} or a name`, { file });
  } else {
    const want = lead.trim().toLowerCase();
    index = leads.findIndex((l) => l.toLowerCase() === want);
    if (index < 0 && /^\d+$/.test(want)) index = Number(want) < leads.length ? Number(want) : -1;
    if (index < 0) throw new MamError(msg`${file}: no signal named '${lead}' (${list()}): give {lead} one of these names or an index`, { file });
  }
  const units = header.signals[index]!.units;
  if (millivoltsPer(units) === undefined) {
    throw new MamError(msg`${file}: signal ${index} (${leads[index]}) is in ${units}, not an ECG lead in volts: choose another with {lead} (${list()})`, { file });
  }
  return index;
}

/** Frames per signal from the files' sizes, when the header gives none: the shortest file's. */
async function framesFromSizes(file: string, header: WfdbHeader, byFile: Map<string, number[]>, notes: string[]): Promise<number> {
  let frames = Infinity;
  for (const [name, members] of byFile) {
    const spec = header.signals[members[0]!]!;
    const path = join(dirname(file), name);
    const size = await signalFileSize(file, spec, path);
    const perFrame = members.reduce((a, i) => a + header.signals[i]!.samplesPerFrame, 0);
    frames = Math.min(frames, Math.floor(samplesIn(spec.format, Math.max(0, size - spec.byteOffset)) / perFrame));
  }
  if (frames === 0) throw new MamError(`${file}: the header gives no number of samples and its signal files hold none: give a record with samples`, { file });
  notes.push(`note: ${basename(file)} gives no number of samples: ${frames} frames, from the signal files' sizes`);
  return frames;
}

interface FileSamples {
  /** Per member signal, its samples in physical units after the skew. */
  values: Float32Array[];
  /** Per member signal, its first stored sample. */
  first: number[];
  /** Per member signal, the sum of its stored samples modulo 65536. */
  sums: number[];
  /** Per member signal, its samples with the invalid value: how many, and the first one's index (after the skew). */
  invalid: Array<{ count: number; first: number }>;
}

async function readSignalFile(headerFile: string, path: string, header: WfdbHeader, members: number[], frames: number): Promise<FileSamples> {
  const specs = members.map((i) => header.signals[i]!);
  const format = specs[0]!.format;
  const byteOffset = specs[0]!.byteOffset;
  const other = specs.find((s) => s.format !== format || s.byteOffset !== byteOffset);
  if (other) {
    throw new MamError(`${headerFile}: line ${other.line}: the signals of ${basename(path)} must share one format and byte offset (line ${specs[0]!.line} says ${format}+${byteOffset}, this ${other.format}+${other.byteOffset}): fix the header`, { file: headerFile });
  }
  const perFrame = specs.reduce((a, s) => a + s.samplesPerFrame, 0);
  const total = frames * perFrame;
  const needed = byteOffset + bytesFor(format, total);
  const size = await signalFileSize(headerFile, specs[0]!, path);
  if (size < needed) {
    const held = Math.floor(samplesIn(format, Math.max(0, size - byteOffset)) / perFrame);
    throw new MamError(`${path}: ${size} bytes hold ${held} of the ${frames} frames ${basename(headerFile)} gives (${needed} bytes needed): the file is truncated; get it again`, { file: path });
  }
  // Frame slot -> member signal; a signal's samples before its skew are not kept.
  const slotMember = new Int32Array(perFrame);
  let slot = 0;
  specs.forEach((s, k) => { for (let j = 0; j < s.samplesPerFrame; j++) slotMember[slot++] = k; });
  const skip = specs.map((s) => Math.min(s.skew, frames) * s.samplesPerFrame);
  const values = specs.map((s, k) => new Float32Array(frames * s.samplesPerFrame - skip[k]!));
  const scale = specs.map((s) => (millivoltsPer(s.units) ?? 1) / s.gain);
  const baseline = specs.map((s) => s.baseline);
  const seen = new Float64Array(specs.length);
  const written = new Int32Array(specs.length);
  const sums = new Int32Array(specs.length);
  const first = specs.map(() => NaN);
  // Format 8 holds differences: each signal's running value starts at its initial value.
  const running = Float64Array.from(specs, (s) => s.initialValue ?? 0);
  const differences = format === 8;
  const gap = INVALID_SAMPLE[format] ?? NaN; // NaN: no stored value is a gap
  const invalid = specs.map(() => ({ count: 0, first: -1 }));

  await withOpenFile(path, async (fh) => {
    const bytes = Buffer.allocUnsafe(CHUNK);
    const raw = new Int32Array(samplesIn(format, CHUNK));
    let position = byteOffset;
    let done = 0;
    slot = 0;
    while (done < total) {
      const want = Math.min(CHUNK, needed - position);
      const got = await readAt(fh, bytes, 0, want, position);
      position += got;
      const n = Math.min(decodeSamples(format, bytes, got, raw), total - done);
      for (let p = 0; p < n; p++) {
        const k = slotMember[slot]!;
        if (++slot === perFrame) slot = 0;
        const v = differences ? (running[k] = running[k]! + raw[p]!) : raw[p]!;
        if (seen[k] === 0) first[k] = v;
        sums[k] = (sums[k]! + v) & 0xffff;
        if (seen[k]!++ < skip[k]!) continue;
        if (v === gap) {
          if (invalid[k]!.count++ === 0) invalid[k]!.first = written[k]!;
          values[k]![written[k]!++] = NaN;
        } else values[k]![written[k]!++] = (v - baseline[k]!) * scale[k]!;
      }
      done += n;
      if (got < want) break; // regularFileSize said it was there: the file shrank meanwhile
    }
    if (done < total) throw new MamError(`${path}: the file ended after ${Math.floor(done / perFrame)} of ${frames} frames while being read: get it again`, { file: path });
  });
  return { values, first, sums: Array.from(sums), invalid };
}

/** The size of a signal file, a missing one named with the header line that names it. */
async function signalFileSize(headerFile: string, spec: WfdbSignalSpec, path: string): Promise<number> {
  try {
    return await regularFileSize(path, 'WFDB signal file', 'its size is checked first');
  } catch (e) {
    if ((e as { cause?: NodeJS.ErrnoException }).cause?.code !== 'ENOENT') throw e;
    throw new MamError(`${path}: no such file (named on line ${spec.line} of ${basename(headerFile)}): put the record's signal files beside its header`, { file: path, cause: e });
  }
}

/**
 * 'ok', 'not stated', or what differs from the header, and whether it is an error. The checksum
 * covers every sample, so a first sample that differs from the initial value while the checksum
 * agrees is a stale header field (wfdb-python's test01_00s_frame.hea copies it from another
 * signal), a note and not an error; without a checksum it is the only check, and an error.
 */
export function checkSignal(spec: WfdbSignalSpec, first: number, sum: number): { status: string; error: boolean } {
  const sumDiffers = spec.checksum !== undefined && sum !== (((spec.checksum % 65536) + 65536) % 65536);
  const firstDiffers = spec.initialValue !== undefined && first !== spec.initialValue;
  const problems = [
    ...(sumDiffers ? [`its samples sum to ${sum} modulo 65536, the header's checksum is ${spec.checksum}`] : []),
    ...(firstDiffers ? [`its first sample is ${first}, the header's initial value ${spec.initialValue}`] : []),
  ];
  if (problems.length > 0) return { status: problems.join(', and '), error: sumDiffers || spec.checksum === undefined };
  return { status: spec.initialValue === undefined && spec.checksum === undefined ? 'not stated' : 'ok', error: false };
}
