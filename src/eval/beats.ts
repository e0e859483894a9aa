// Quality per beat type: the annotated beats of each evaluated WFDB record, moved to the
// model's rate, against the evaluation's windows (metrics/beats.ts does the arithmetic).
//
// Only beats inside the evaluated windows count (metrics/beats.ts leaves the others out): the
// model's own test split of a record split by time is its last part, and the beats of the other
// parts were never evaluated.
import { MamError } from '../errors.js';
import { resampledIndex } from '../data/resample.js';
import { annotationPath } from '../data/recordings.js';
import { aamiClass, isBeat, readAnnotations, type Annotation } from '../data/wfdb/annotations.js';
import { beatQuality, type BeatMark, type BeatQualityReport, type RecordBeatQuality } from '../metrics/beats.js';
import type { Evaluation } from './evaluate.js';

/** Half the segment around each beat that its PRD is taken over. */
export const BEAT_HALF_WIDTH_S = 0.3;

export interface BeatEvaluation {
  /** The annotation files read, one per record. */
  files: string[];
  records: Array<RecordBeatQuality & { name: string }>;
  overall: BeatQualityReport;
}

/** Reads each record's annotations (extension `extension`) and measures the evaluation per beat class. */
export async function evaluateBeats(ev: Evaluation, extension: string, fs: number): Promise<BeatEvaluation> {
  // A beat's place in the signal is a sample of a window only where windows are the signal's samples.
  if (ev.windows.segments) throw new MamError('quality per beat class is measured on fixed and beat windows; this model\'s rr windows are resampled segments: evaluate it without --annotations');
  const rates = ev.recordRates;
  if (!rates) throw new Error('evaluateBeats needs the records\' rates (EvalData.recordRates)');
  const used = new Set(ev.windows.origin.map((o) => o.record));
  const files: string[] = [];
  const beats: Array<BeatMark[] | undefined> = [];
  for (const [r, name] of ev.recordNames.entries()) {
    if (!used.has(r)) continue;
    const path = annotationPath(name, extension);
    files.push(path);
    beats[r] = beatMarks((await readAnnotations(path)).annotations, rates[r]!, fs);
  }
  const norm = ev.windows.norm;
  if (!norm) throw new Error('evaluateBeats needs the windows\' normalisation (WindowSet.norm)');
  const result = beatQuality({
    windows: ev.windows, reconstruction: ev.reconstruction, snr: ev.perWindow.snr, mean: norm.mean, std: norm.std,
    beats, halfWidth: Math.round(BEAT_HALF_WIDTH_S * fs), classOf: aamiClass,
  });
  return { files, records: result.records.map((r) => ({ ...r, name: ev.recordNames[r.record]! })), overall: result.overall };
}

/** The beats of an annotation list, at the model's rate. */
export function beatMarks(annotations: readonly Annotation[], fsRecord: number, fs: number): BeatMark[] {
  return annotations.filter((a) => isBeat(a.code)).map((a) => ({ sample: resampledIndex(a.sample, fsRecord, fs), symbol: a.symbol }));
}
