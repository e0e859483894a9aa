// Evaluation of a trained autoencoder: reconstruction quality per window, per record and
// overall, on the model's own test split (regenerated or re-read from what the model stored)
// or on new recordings, always through the preprocessing stored with the model.
import type * as tf from '@tensorflow/tfjs';
import type { RecordingReadOptions } from '../data/recordings.js';
import { FLAT_STD_MV, windowAll, type WindowSet } from '../data/pipeline.js';
import { csvSource, loadRecords, prepareFromSource, type DataSource } from '../data/source.js';
import { MamError } from '../errors.js';
import { fitPca, pcaReconstruct } from '../metrics/pca.js';
import { segmentReconstruction, setMetrics, summarizeByRecord, type MetricSummary, type RecordSummary, type WindowMetrics } from '../metrics/reconstruction.js';
import { reconstruct } from '../model/infer.js';
import { inferQuantized } from '../quantize/infer.js';
import type { QuantizedNetwork } from '../quantize/quantize.js';
import type { AutoencoderMetadata } from '../model/metadata.js';
import { csvField } from '../report/csv-field.js';
import { windowsChart } from '../report/svg.js';

export interface EvalData {
  windows: WindowSet;
  recordNames: string[];
  /** 'test': the model's own test split; 'all': every window of the given recordings. */
  split: 'test' | 'all';
  /** The model's training windows, when they were prepared on the way (its own split). */
  train?: WindowSet;
  /** The readers' notes on the records, for the user. */
  notes?: string[];
  /** Each record's sampling rate as read (before resampling to the model's). */
  recordRates?: number[];
  /** Where the records came from (to read them again, e.g. for the lowpass reference). */
  source?: DataSource;
}

export interface Evaluation extends EvalData {
  reconstruction: Float32Array;
  perWindow: WindowMetrics;
  overall: MetricSummary;
  records: RecordSummary[];
  /** Windows left out of every metric as flat (pipeline FLAT_STD_MV), per record index. */
  flatByRecord: number[];
}

/** The windows to evaluate: the model's test split, or all windows of `csv` files. */
export async function evaluationData(
  metadata: AutoencoderMetadata, csv?: { files: string[]; read: RecordingReadOptions },
): Promise<EvalData> {
  if (csv && csv.files.length > 0) {
    const source = csvSource(csv.files, csv.read);
    const records = await loadRecords(source);
    const windows = windowAll(records, metadata.data.pipeline);
    if (windows.count === 0) {
      throw new MamError(`every window of ${csv.files.join(', ')} is flat (standard deviation below ${FLAT_STD_MV} mV: no signal, or a lead off): nothing to evaluate; check the lead and the units`, { file: csv.files[0] });
    }
    return { windows, recordNames: records.map((r) => r.name), recordRates: records.map((r) => r.fs), split: 'all', notes: records.flatMap((r) => r.notes ?? []), source };
  }
  const data = await prepareFromSource(metadata.data.source, metadata.data.pipeline);
  if (data.test.count === 0) {
    throw new MamError('the model\'s test split has no windows (too little data): give CSV files to evaluate on');
  }
  return { windows: data.test, recordNames: data.recordNames, recordRates: data.recordRates, split: 'test', train: data.train, notes: data.notes, source: metadata.data.source };
}

/** The model's reconstruction quality on `data`; with `int8`, that of its int8 network (the integer reference). */
export function evaluate(model: tf.LayersModel, data: EvalData, int8?: QuantizedNetwork): Evaluation {
  const reconstruction = int8 ? inferQuantized(int8, data.windows.data, data.windows.count) : reconstruct(model, data.windows);
  const perWindow = setMetrics(data.windows, reconstruction);
  const { records, overall } = summarizeByRecord(perWindow, data.windows.origin, data.recordNames);
  const flatByRecord = data.recordNames.map(() => 0);
  for (const { record } of data.windows.flat ?? []) flatByRecord[record]!++;
  return { ...data, reconstruction, perWindow, overall, records, flatByRecord };
}

/**
 * The linear baseline on the same windows: PCA with `components` components fitted on `train`
 * (the model's training windows), per record and overall.
 */
export function pcaBaseline(data: EvalData, train: WindowSet, components: number): { overall: MetricSummary; records: RecordSummary[] } {
  const pca = fitPca(train.data, train.length, components);
  const perWindow = setMetrics(data.windows, pcaReconstruct(pca, data.windows.data, data.windows.length));
  return summarizeByRecord(perWindow, data.windows.origin, data.recordNames);
}

/**
 * CSV rows record,window,sample,original,reconstruction in normalised units (float32 as written
 * by JS): what the metrics compared, so that they recompute from it; for rr windows the segments
 * as they were and the reconstruction resampled back to them.
 */
export function* reconstructionCsv(ev: Evaluation): Generator<string> {
  yield 'record,window,sample,original,reconstruction\n';
  const { length, count, origin, data, segments } = ev.windows;
  if (segments) {
    for (let w = 0; w < count; w++) {
      const name = csvField(ev.recordNames[origin[w]!.record]!);
      const { segment, back } = segmentReconstruction(segments, ev.reconstruction, length, w);
      yield `${Array.from(segment, (v, i) => `${name},${w},${i},${v},${back[i]}`).join('\n')}\n`;
    }
    return;
  }
  for (let w = 0; w < count; w++) {
    const rows: string[] = [];
    const name = csvField(ev.recordNames[origin[w]!.record]!);
    for (let i = 0; i < length; i++) rows.push(`${name},${w},${i},${data[w * length + i]},${ev.reconstruction[w * length + i]}`);
    yield `${rows.join('\n')}\n`;
  }
}

/** A few windows (spread evenly over the set), original over reconstruction, with their SNR. */
export function evaluationPlot(ev: Evaluation, count = 6, fs?: number): string {
  const n = Math.min(count, ev.windows.count);
  const picks = Array.from({ length: n }, (_, i) => Math.floor((i * ev.windows.count) / n));
  const { length, data, origin } = ev.windows;
  return windowsChart({
    title: `Original (solid) and reconstruction (dashed): ASNR ${ev.overall.asnr_db.toFixed(2)} dB over ${ev.windows.count} windows`,
    windows: picks.map((w) => ({
      original: data.subarray(w * length, (w + 1) * length),
      reconstruction: ev.reconstruction.subarray(w * length, (w + 1) * length),
      label: `SNR ${ev.perWindow.snr[w]!.toFixed(1)} dB, window ${w}, ${shortName(ev.recordNames[origin[w]!.record]!)}`,
    })),
    ...(fs ? { fs } : {}),
  });
}

/** A record's name without its folders, for tables and plot labels. */
export function shortName(name: string): string {
  return name.split('/').at(-1)!;
}
