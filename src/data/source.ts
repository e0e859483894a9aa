// Where a model's records come from, in a form that is stored with the model (plain JSON), so
// that evaluation can regenerate or re-read exactly the data a model was trained on.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { MamError } from '../errors.js';
import { synthRecords, type EcgsynOptions } from './ecgsyn.js';
import { prepareData, type PipelineSettings, type PreparedData } from './pipeline.js';
import type { EcgRecord } from './record.js';
import { readRecordings, recordingFiles, type RecordingReadOptions } from './recordings.js';

export type DataSource =
  | {
    kind: 'synthetic';
    /** How many traces, each with its own heart rate (the MAM group's recipe). */
    records: number;
    /** Generator settings: seconds, seed, fs, hrRange, noise, ... */
    generator: EcgsynOptions;
  }
  | {
    /** Recordings in files: CSV files and WFDB records (by their .hea), a kind named when only CSV was read. */
    kind: 'csv';
    /** Absolute paths of the CSV files and WFDB headers (directories already expanded). */
    files: string[];
    read: RecordingReadOptions;
    /** Size and hash of each recording when the model was trained on it (a WFDB record's: its header, then its signal files). */
    fingerprints?: FileFingerprint[];
  };

export interface FileFingerprint { bytes: number; sha256: string }

/** A source of recordings with the paths made absolute, so a stored model finds its files from anywhere. */
export function csvSource(files: readonly string[], read: RecordingReadOptions): DataSource {
  return { kind: 'csv', files: files.map((f) => resolve(f)), read };
}

/**
 * The source with the size and SHA-256 of each of its files, as they are now: stored with a
 * model, so that what re-reads its data later (eval of its test split, --resume, prune, sweep,
 * the export's golden vectors) notices a file edited since, instead of silently using it.
 */
export async function fingerprintSource(source: DataSource): Promise<DataSource> {
  if (source.kind !== 'csv') return source;
  return { ...source, fingerprints: await Promise.all(source.files.map(fingerprintRecording)) };
}

/** The source without its fingerprints: what decides whether two runs read the same data. */
export function withoutFingerprints(source: DataSource): DataSource {
  if (source.kind !== 'csv' || !source.fingerprints) return source;
  const { fingerprints: _ignored, ...rest } = source;
  return rest;
}

/** One hash over the recording's files in turn (a CSV file's alone is that file's own SHA-256). */
async function fingerprintRecording(path: string): Promise<FileFingerprint> {
  const hash = createHash('sha256');
  let bytes = 0;
  let files: string[];
  try {
    files = await recordingFiles(path);
  } catch (e) {
    throw dataGone(path, e);
  }
  for (const file of files) {
    try {
      for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
        hash.update(chunk);
        bytes += chunk.length;
      }
    } catch (e) {
      throw dataGone(file, e);
    }
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** A model's data file missing or unreadable; a header that no longer parses says so itself. */
function dataGone(file: string, e: unknown): Error {
  const code = ((e as { cause?: NodeJS.ErrnoException }).cause ?? (e as NodeJS.ErrnoException)).code;
  if (e instanceof MamError && code === undefined) return e;
  const why = code === 'ENOENT' ? 'not found' : (e as Error).message;
  return new MamError(`${file}: ${why}: the model's data must be where it was trained (or train again on the data where it is now)`, { file, cause: e });
}

async function checkFingerprints(files: string[], expected: FileFingerprint[]): Promise<void> {
  for (const [i, file] of files.entries()) {
    const was = expected[i];
    if (!was) continue;
    const now = await fingerprintRecording(file);
    if (now.bytes !== was.bytes || now.sha256 !== was.sha256) {
      const what = now.bytes !== was.bytes ? `${was.bytes} bytes then, ${now.bytes} now` : `same size, SHA-256 ${was.sha256.slice(0, 12)}... then, ${now.sha256.slice(0, 12)}... now`;
      throw new MamError(`${file} changed since the model was trained on it (${what}): restore the file the model was trained on, or train a new model on it`, { file });
    }
  }
}

/** The records a source describes, each with one lead in mV at its own rate. */
export async function loadRecords(source: DataSource): Promise<EcgRecord[]> {
  if (source.kind === 'synthetic') return synthRecords({ ...source.generator, count: source.records });
  if (source.fingerprints) await checkFingerprints(source.files, source.fingerprints);
  const records = await readRecordings(source.files, source.read);
  // Only the chosen lead goes on; the other leads' arrays can be freed.
  return records.map(({ name, fs, lead, signal, notes }) => ({ name, fs, lead, signal, ...(notes?.length ? { notes } : {}) }));
}

/** Records from the source through the pipeline: what training, evaluation, pruning and export all start from. */
export async function prepareFromSource(source: DataSource, pipeline: PipelineSettings): Promise<PreparedData & { recordNames: string[]; recordRates: number[] }> {
  const records = await loadRecords(source);
  return { ...prepareData(records, pipeline), recordNames: records.map((r) => r.name), recordRates: records.map((r) => r.fs) };
}

/**
 * The rate to resample every record to: `requested` when given, else the records' common rate.
 * Records at different rates with nothing requested are an error that names them.
 */
export function targetRate(records: readonly EcgRecord[], requested?: number): number {
  if (requested !== undefined) return requested;
  const rates = [...new Set(records.map((r) => r.fs))];
  if (rates.length > 1) {
    const list = rates.map((fs) => `${records.find((r) => r.fs === fs)!.name}: ${fs} Hz`).join(', ');
    throw new MamError(`the records have different sampling rates (${list}): give the rate to resample them all to`);
  }
  if (rates.length === 0) throw new MamError('no records: give at least one CSV file or use the synthetic generator');
  return rates[0]!;
}
