// Where a model's records come from, in a form that is stored with the model (plain JSON), so
// that evaluation can regenerate or re-read exactly the data a model was trained on.
import { resolve } from 'node:path';
import { MamError } from '../errors.js';
import { readEcgFiles, type CsvReadOptions } from './csv.js';
import { synthRecords, type EcgsynOptions } from './ecgsyn.js';
import { prepareData, type PipelineSettings, type PreparedData } from './pipeline.js';
import type { EcgRecord } from './record.js';

export type DataSource =
  | {
    kind: 'synthetic';
    /** How many traces, each with its own heart rate (the MAM group's recipe). */
    records: number;
    /** Generator settings: seconds, seed, fs, hrRange, noise, ... */
    generator: EcgsynOptions;
  }
  | {
    kind: 'csv';
    /** Absolute paths of the CSV files (directories already expanded by the reader). */
    files: string[];
    read: CsvReadOptions;
  };

/** A CSV source with the paths made absolute, so a stored model finds its files from anywhere. */
export function csvSource(files: readonly string[], read: CsvReadOptions): DataSource {
  return { kind: 'csv', files: files.map((f) => resolve(f)), read };
}

/** The records a source describes, each with one lead in mV at its own rate. */
export async function loadRecords(source: DataSource): Promise<EcgRecord[]> {
  if (source.kind === 'synthetic') return synthRecords({ ...source.generator, count: source.records });
  const records = await readEcgFiles(source.files, source.read);
  // Only the chosen lead goes on; the other leads' arrays can be freed.
  return records.map(({ name, fs, lead, signal }) => ({ name, fs, lead, signal }));
}

/** Records from the source through the pipeline: what training, evaluation, pruning and export all start from. */
export async function prepareFromSource(source: DataSource, pipeline: PipelineSettings): Promise<PreparedData & { recordNames: string[] }> {
  const records = await loadRecords(source);
  return { ...prepareData(records, pipeline), recordNames: records.map((r) => r.name) };
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
