// The noise floor of recordings: the quality of a "reconstruction" that keeps everything below
// a frequency and nothing above it, on the same windows as an evaluation. Real ECG carries
// noise up to the Nyquist frequency (muscle, mains, quantisation) that no compact code keeps,
// so this bounds what a model can reach on them: a model whose ASNR nears the 40 Hz figure
// keeps as much as a 40 Hz lowpass does.
import { idealLowpass } from '../data/filters.js';
import { conditionRecord, type PipelineSettings } from '../data/pipeline.js';
import type { EcgRecord } from '../data/record.js';
import { loadRecords } from '../data/source.js';
import { summarizeByRecord, windowMetrics, type MetricSummary, type RecordSummary } from '../metrics/reconstruction.js';
import { MamError } from '../errors.js';
import type { EvalData } from './evaluate.js';

/**
 * ASNR of the ideal lowpass at `cutoffHz` of each conditioned record, on `data`'s windows
 * (normalised as they were). `records` are the records `data` was cut from, in its order.
 */
export function lowpassReference(data: EvalData, records: readonly EcgRecord[], pipeline: PipelineSettings, cutoffHz: number): { overall: MetricSummary; records: RecordSummary[] } {
  const { length, count, origin, norm } = data.windows;
  if (data.windows.segments) throw new MamError('the lowpass floor is measured on fixed and beat windows; rr windows are resampled segments: evaluate without --lowpass, or on fixed windows');
  if (!norm) throw new Error('lowpassReference needs the windows\' normalisation (WindowSet.norm)');
  const used = new Set(origin.map((o) => o.record));
  const low = records.map((r, i) => (used.has(i) ? idealLowpass(conditionRecord(r, pipeline), pipeline.fs, cutoffHz) : null));
  const reconstruction = new Float32Array(count * length);
  for (let w = 0; w < count; w++) {
    const { record, start } = origin[w]!;
    const mean = norm.mean[w]!, std = norm.std[w]!;
    const x = low[record]!;
    for (let i = 0; i < length; i++) reconstruction[w * length + i] = (x[start + i]! - mean) / std;
  }
  return summarizeByRecord(windowMetrics(data.windows.data, reconstruction, length), origin, data.recordNames);
}

/** lowpassReference on an evaluation's windows, its records read again from its source. */
export async function lowpassFloor(data: EvalData, pipeline: PipelineSettings, cutoffHz: number): Promise<{ overall: MetricSummary; records: RecordSummary[] }> {
  if (!data.source) throw new Error('lowpassFloor needs the evaluation\'s source (EvalData.source)');
  return lowpassReference(data, await loadRecords(data.source), pipeline, cutoffHz);
}
