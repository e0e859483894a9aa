// ECG recordings from files, whatever their kind: CSV files, and WFDB records given as a header
// (NAME.hea) or a record name without extension (mitdb/100). A directory stands for its *.csv
// files and its records (*.hea), sorted by name. Everything that reads recordings (data info,
// train, eval, sweep) goes through here.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { MamError, msg, RequestError, setting } from '../errors.js';
import { readEcgCsv, type CsvReadOptions, type CsvRecord } from './csv.js';
import { fileError } from './files.js';
import { headerPath, readWfdbHeader, readWfdbRecord, signalFiles, type WfdbRecord } from './wfdb/reader.js';

export interface RecordingReadOptions extends CsvReadOptions {
  /** WFDB records: check initial values and checksums (default true; false makes a mismatch a warning). */
  verify?: boolean;
}

export type Recording = CsvRecord | WfdbRecord;

export function isWfdbRecord(r: Recording): r is WfdbRecord {
  return 'kind' in r && r.kind === 'wfdb';
}

export function isWfdbPath(path: string): boolean {
  return /\.hea$/i.test(path);
}

const RECORDING_FILE = /\.(csv|hea)$/i;

/** Paths as given (a record name gets its .hea), directories replaced by their *.csv and *.hea files. */
export async function expandRecordingPaths(paths: readonly string[]): Promise<string[]> {
  if (paths.length === 0) throw new MamError('no recordings given: name CSV files, WFDB records (NAME.hea or NAME) or directories holding them');
  const out: string[] = [];
  for (const p of paths) {
    const kind = await pathKind(p);
    if (kind === 'file') out.push(p);
    else if (kind === 'record') out.push(headerPath(p));
    else {
      let names: string[];
      try {
        names = (await fsp.readdir(p, { withFileTypes: true })).filter((d) => !d.isDirectory() && RECORDING_FILE.test(d.name)).map((d) => d.name).sort();
      } catch (e) {
        throw fileError(p, e);
      }
      if (names.length === 0) throw new MamError(`${p}: no *.csv files or WFDB records (*.hea) in this directory: give recordings or a directory holding some`, { file: p });
      out.push(...names.map((n) => join(p, n)));
    }
  }
  return out;
}

async function pathKind(p: string): Promise<'file' | 'record' | 'directory'> {
  try {
    return (await fsp.stat(p)).isDirectory() ? 'directory' : 'file';
  } catch (e) {
    // mitdb/100: a record named without its .hea.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !isWfdbPath(p)) {
      try {
        await fsp.stat(headerPath(p));
        return 'record';
      } catch { /* neither: report the path as given */ }
    }
    throw fileError(p, e);
  }
}

/**
 * One recording: a CSV file, or a WFDB record by its header (its lead only; for an `overview`,
 * every signal, gaps read as NaN and counted instead of refused).
 */
export async function readRecording(path: string, options: RecordingReadOptions = {}, overview = false): Promise<Recording> {
  if (!isWfdbPath(path)) {
    const { verify: _wfdbOnly, ...csv } = options;
    return readEcgCsv(path, csv);
  }
  // The header states the rate and the scaling: options that would override them are refused.
  for (const field of ['fs', 'adcGain', 'adcZero'] as const) {
    if (options[field] !== undefined) throw new RequestError(msg`${path}: ${setting(field)} is for CSV files: a WFDB header states each signal's rate and gain; remove it`);
  }
  return readWfdbRecord(path, { lead: options.lead, verify: options.verify, ...(overview ? { signals: 'all', gaps: 'keep' } as const : {}) });
}

/** Several recordings (files, records, directories), read one after the other. */
export async function readRecordings(paths: readonly string[], options: RecordingReadOptions = {}): Promise<Recording[]> {
  const out: Recording[] = [];
  for (const path of await expandRecordingPaths(paths)) out.push(await readRecording(path, options));
  return out;
}

/** The annotation file beside a WFDB record: 100.hea with 'atr' gives 100.atr. */
export function annotationPath(record: string, extension: string): string {
  if (!isWfdbPath(record)) {
    throw new MamError(`${record}: not a WFDB record: beat annotations are read beside WFDB records (NAME.hea and NAME.${extension}); evaluate WFDB records, or leave out the annotations`, { file: record });
  }
  return `${record.replace(/\.hea$/i, '')}.${extension}`;
}

/** The files a recording is made of: the CSV file, or the header and then its signal files. */
export async function recordingFiles(path: string): Promise<string[]> {
  if (!isWfdbPath(path)) return [path];
  return [path, ...signalFiles(path, await readWfdbHeader(path))];
}
