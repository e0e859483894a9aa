// The CSV reader's public shapes: what it takes and what it returns for one file.
import type { EcgRecord } from '../record.js';

export interface CsvReadOptions {
  /** A lead name (case-insensitive, quotes ignored) or a 0-based index among the signal columns. */
  lead?: string | number;
  /** Sampling rate in Hz. Required without a time column in s or ms; wins over one. */
  fs?: number;
  /** The cells are ADC counts with this many counts per mV (MIT-BIH: 200). */
  adcGain?: number;
  /** The ADC count of 0 mV (MIT-BIH: 1024). Default 0. */
  adcZero?: number;
}

export type TimeUnit = 'seconds' | 'milliseconds' | 'samples';

export type Delimiter = ',' | ';' | '\t';

/** A first column that holds time or sample numbers rather than a lead. */
export interface TimeColumn {
  name: string;
  unit: TimeUnit;
}

/** One CSV file: the chosen lead as an EcgRecord (name = the path), plus every lead. */
export interface CsvRecord extends EcgRecord {
  /** Signal column names in file order (the time column excluded). */
  leads: string[];
  /** One Float32Array per lead, in mV, same order as `leads`; `signal` is signals[leadIndex]. */
  signals: Float32Array[];
  /** 0-based index of `lead` in `leads`. */
  leadIndex: number;
  /** Where fs came from: 'time column (seconds)', '--fs', '--fs (the time column says 250 Hz)', ... */
  fsSource: string;
  /** Data rows = samples per lead. */
  rows: number;
  /** The first column, when it holds time or sample numbers rather than a lead. */
  timeColumn: TimeColumn | null;
  /** The rate the time column implies (s or ms, 2 rows or more), whether or not it was used. */
  timeColumnFs: number | null;
  delimiter: Delimiter;
  header: boolean;
}
