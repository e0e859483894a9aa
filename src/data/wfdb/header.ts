// A WFDB header (NAME.hea): the record line, one line per signal, and comment lines. The rules
// (PhysioNet's header(5), as WFDB's own reader applies them):
//
//   record line:  name[/segments] nsig [fs[/counter_freq[(base_counter)]] [nsamp [base_time [base_date]]]]
//   signal line:  file format[xSPF][:skew][+offset] [gain[(baseline)][/units] [adc_res [adc_zero
//                 [initial_value [checksum [block_size [description]]]]]]]
//
// - '#' lines are comments wherever they are, blank lines are skipped; the description is the
//   rest of the line and may hold spaces.
// - fs defaults to 250 Hz; nsamp may be missing or 0 (then the signal files' sizes tell it).
//   The counter frequency and base time and date are kept and play no part in the rate.
// - gain 0 or missing means 200 counts per unit; the baseline defaults to adc_zero; the units to
//   mV. A physical value is (stored - baseline) / gain.
// - Multi-segment records (name/segments) are refused: their segments are records of their own.
import { MamError } from '../../errors.js';

/** The formats read (MAM.md section 11); the FLAC ones are compressed and refused with a fix. */
export const WFDB_FORMATS = [8, 16, 24, 32, 61, 80, 160, 212, 310, 311] as const;
export type WfdbFormat = (typeof WFDB_FORMATS)[number];

const FLAC_FORMATS = [508, 516, 524];
const DEFAULT_FS = 250;
const DEFAULT_GAIN = 200;
/** adc_res when a line leaves it out: the format's bits. */
const FORMAT_BITS: Record<WfdbFormat, number> = { 8: 8, 16: 16, 24: 24, 32: 32, 61: 16, 80: 8, 160: 16, 212: 12, 310: 10, 311: 10 };

export interface WfdbSignalSpec {
  /** The signal file as the header names it (relative to the header's folder). */
  file: string;
  format: WfdbFormat;
  /** Samples per frame: the signal's rate is the frame rate times this. */
  samplesPerFrame: number;
  /** Frames the signal is delayed by: its sample i is stored in frame i + skew. */
  skew: number;
  /** Bytes before the first sample in the file. */
  byteOffset: number;
  /** ADC counts per unit (never 0: a 0 or missing gain is 200). */
  gain: number;
  /** The count of 0 units. */
  baseline: number;
  units: string;
  adcResolution: number;
  adcZero: number;
  /** The first sample as the header states it, when it does. */
  initialValue?: number;
  /** The 16-bit sum of all the signal's samples as the header states it, when it does. */
  checksum?: number;
  blockSize: number;
  description: string;
  /** 1-based line of the header that describes the signal (for errors). */
  line: number;
}

export interface WfdbHeader {
  record: string;
  /** Frames per second (a signal with SPF k has k times this). */
  fs: number;
  /** Where the rate came from: 'header' or 'default (250 Hz, the header gives none)'. */
  fsSource: string;
  counterFrequency?: number;
  baseCounter?: number;
  /** Frames per signal; undefined when the header gives none or 0 (the files' sizes tell). */
  frames?: number;
  baseTime?: string;
  baseDate?: string;
  signals: WfdbSignalSpec[];
  /** The comment lines' text, without '#'. */
  comments: string[];
}

const NUMBER = String.raw`[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?`;
const FS_FIELD = new RegExp(String.raw`^(${NUMBER})(?:/(${NUMBER})(?:\((${NUMBER})\))?)?$`);
const FORMAT_FIELD = /^(\d+)(?:x(\d+))?(?::(\d+))?(?:\+(\d+))?$/;
const GAIN_FIELD = new RegExp(String.raw`^(${NUMBER})(?:\(([-+]?\d+)\))?(?:/(\S+))?$`);
const INTEGER = /^[-+]?\d+$/;

/** Parses a header's text; `path` names it in errors, each with the line and the fix. */
export function parseHeader(text: string, path: string): WfdbHeader {
  const fail = (line: number, what: string): never => {
    throw new MamError(`${path}: line ${line}: ${what}`, { file: path });
  };
  const comments: string[] = [];
  const lines: Array<{ text: string; line: number }> = [];
  text.split('\n').forEach((raw, i) => {
    const t = raw.replace(/\r$/, '');
    const trimmed = t.trim();
    if (trimmed.startsWith('#')) comments.push(trimmed.slice(1).trim());
    else if (trimmed !== '') lines.push({ text: t, line: i + 1 });
  });
  if (lines.length === 0) throw new MamError(`${path}: no record line: not a WFDB header (the first line that is not a comment names the record and its signals)`, { file: path });

  const recordLine = lines[0]!;
  const fields = recordLine.text.trim().split(/\s+/);
  const [name, nsigField, fsField, nsampField, baseTime, baseDate] = fields;
  if (name!.includes('/')) {
    fail(recordLine.line, `'${name}' is a multi-segment record: these are not read; give its segments' headers (the records its layout lists) instead`);
  }
  if (nsigField === undefined || !/^\d+$/.test(nsigField)) {
    fail(recordLine.line, `the record line '${recordLine.text.trim()}' must give the record name and the number of signals ('100 2 360 650000'): fix the header`);
  }
  const nsig = Number(nsigField);
  if (nsig === 0) fail(recordLine.line, 'the record has no signals (nsig 0): nothing to read');

  const header: WfdbHeader = { record: name!, fs: DEFAULT_FS, fsSource: `default (${DEFAULT_FS} Hz, the header gives none)`, signals: [], comments };
  if (fsField !== undefined) {
    const m = FS_FIELD.exec(fsField);
    const fs = m ? Number(m[1]) : NaN;
    if (!m || !(fs > 0)) fail(recordLine.line, `sampling frequency '${fsField}' is not a positive number of Hz (with an optional /counter_freq(base)): fix the header`);
    header.fs = fs;
    header.fsSource = 'the header';
    if (m![2] !== undefined) header.counterFrequency = Number(m![2]);
    if (m![3] !== undefined) header.baseCounter = Number(m![3]);
  }
  if (nsampField !== undefined) {
    if (!/^\d+$/.test(nsampField)) fail(recordLine.line, `number of samples '${nsampField}' is not a whole number: fix the header (or leave it out to take it from the signal files)`);
    const n = Number(nsampField);
    if (n > 0) header.frames = n;
  }
  if (baseTime !== undefined) header.baseTime = baseTime;
  if (baseDate !== undefined) header.baseDate = baseDate;

  const signalLines = lines.slice(1, 1 + nsig);
  if (signalLines.length < nsig) {
    fail(lines.at(-1)!.line, `the record line says ${nsig} signals, the header describes ${signalLines.length}: add the missing signal lines or fix the count`);
  }
  header.signals = signalLines.map((l) => parseSignalLine(l.text, l.line, fail));
  return header;
}

function parseSignalLine(text: string, line: number, fail: (line: number, what: string) => never): WfdbSignalSpec {
  // Eight fields, then the description: the rest of the line, spaces and all.
  const fields: string[] = [];
  let rest = text.trim();
  while (fields.length < 8 && rest !== '') {
    const m = /^(\S+)\s*/.exec(rest)!;
    fields.push(m[1]!);
    rest = rest.slice(m[0].length);
  }
  const [file, formatField, gainField, resField, zeroField, initField, sumField, blockField] = fields;
  if (formatField === undefined) fail(line, `signal line '${text.trim()}' gives no format: each signal line starts 'FILE FORMAT' ('100.dat 212 200 11 1024')`);
  const f = FORMAT_FIELD.exec(formatField!);
  if (!f) fail(line, `format '${formatField}' is not FORMAT[xSAMPLES][:SKEW][+OFFSET] (as in 212, 16x4, 16+24): fix the header`);
  const format = Number(f![1]);
  if (FLAC_FORMATS.includes(format)) fail(line, `format ${format} is FLAC-compressed, which mam does not read: convert the record to format 16 (wfdb's xform -f 16, or wfdb-python wrsamp with fmt '16')`);
  if (format === 0) fail(line, `format 0 is a null signal (no samples stored): remove its line, or give a record with the signal recorded`);
  if (!(WFDB_FORMATS as readonly number[]).includes(format)) fail(line, `format ${format} is not a WFDB signal format mam reads (${WFDB_FORMATS.join(', ')}): convert the record to format 16`);
  if (file === '~') fail(line, `signal file '~' (a signal not stored in a file) is not read: give a record whose signals are in files`);
  const samplesPerFrame = f![2] === undefined ? 1 : Number(f![2]);
  if (samplesPerFrame < 1) fail(line, `samples per frame ${samplesPerFrame} in '${formatField}' must be at least 1: fix the header`);

  const spec: WfdbSignalSpec = {
    file: file!, format: format as WfdbFormat, samplesPerFrame, skew: f![3] === undefined ? 0 : Number(f![3]), byteOffset: f![4] === undefined ? 0 : Number(f![4]),
    gain: DEFAULT_GAIN, baseline: 0, units: 'mV', adcResolution: FORMAT_BITS[format as WfdbFormat], adcZero: 0, blockSize: 0, description: rest, line,
  };
  let baseline: number | undefined;
  if (gainField !== undefined) {
    const g = GAIN_FIELD.exec(gainField);
    if (!g) fail(line, `gain '${gainField}' is not GAIN[(BASELINE)][/UNITS] (as in 200, 200(1024)/mV, 6554/mV): fix the header`);
    const gain = Number(g![1]);
    if (gain < 0) fail(line, `gain ${gain} is negative: ADC counts per unit must be positive (0 means uncalibrated, read as 200)`);
    if (gain > 0) spec.gain = gain;
    if (g![2] !== undefined) baseline = Number(g![2]);
    if (g![3] !== undefined) spec.units = g![3];
  }
  const int = (field: string | undefined, what: string, example: string): number | undefined => {
    if (field === undefined) return undefined;
    if (!INTEGER.test(field)) fail(line, `${what} '${field}' is not a whole number (as in ${example}): fix the header`);
    return Number(field);
  };
  spec.adcResolution = int(resField, 'ADC resolution', '11') ?? spec.adcResolution;
  spec.adcZero = int(zeroField, 'ADC zero', '1024') ?? 0;
  spec.baseline = baseline ?? spec.adcZero;
  const initialValue = int(initField, 'initial value', '995');
  if (initialValue !== undefined) spec.initialValue = initialValue;
  const checksum = int(sumField, 'checksum', '-22131');
  if (checksum !== undefined) spec.checksum = checksum;
  spec.blockSize = int(blockField, 'block size', '0') ?? 0;
  return spec;
}
