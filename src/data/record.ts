// One ECG record as every data step sees it: one lead, in millivolts, at a known rate.
import { basename } from 'node:path';

export interface EcgRecord {
  /** For reports and errors: the file path, or e.g. 'synthetic #3'. */
  name: string;
  /** Sampling rate in Hz. */
  fs: number;
  /** The lead's name ('MLII', 'ECG', ...). */
  lead: string;
  /** Samples in millivolts. */
  signal: Float32Array;
  /** What the reader wants the user to know (a WFDB checksum let through, a length from a file size). */
  notes?: string[];
}

/** A record's name as a person says it: the file name without its folders and its .hea or .csv ('100'). */
export function recordName(path: string): string {
  return basename(path).replace(/\.(hea|csv)$/i, '');
}
