// Leave-one-record-out cross-validation (`mam cv`): for each recording, a model trained on all
// the others (validation from a time block of each, see PipelineSettings.testRecords, or one of
// them whole: valBy 'record') is
// tested on that one, the patient it never saw, beside PCA with the same latent size fitted on
// the same training windows. Every fold is a model directory of its own under the cv
// directory, so running again continues: finished folds are read back, an unfinished one
// resumes.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { recordName } from '../data/record.js';
import { MamError, msg, RequestError } from '../errors.js';
import { evaluate, evaluationData } from '../eval/evaluate.js';
import { lowpassFloor } from '../eval/floor.js';
import { writeFileAtomically } from '../io/atomic.js';
import { withOutputLock } from '../io/lock.js';
import { loadAutoencoder } from '../model/metadata.js';
import { compressionRatio, type MetricSummary } from '../metrics/reconstruction.js';
import { snakeKeys } from '../report/json-keys.js';
import { trainOrResume, type SessionUi, type TrainConfig } from '../train/session.js';

export const CV_JSON = 'cv.json';

export interface CvRequest {
  /** The training run of every fold; its source lists the records (two or more). */
  config: TrainConfig;
  /** The cv directory: a model per fold (named after its test record) and cv.json. */
  dir: string;
  /** Also the noise floor of each test record: the ASNR of keeping everything below this (Hz). */
  lowpassHz?: number;
  /**
   * Where each fold validates: 'time' (default), a block at the end of every training record;
   * 'record', the training record after the test record (in the order given, cyclically), whole:
   * a patient the fold's training never sees, so that early stopping follows new patients.
   */
  valBy?: 'time' | 'record';
}

export interface CvFold {
  /** The record tested: the one left out of training. */
  record: string;
  model: string;
  windows: number;
  asnrDb: number;
  prd: number;
  snrP5Db: number;
  pcaAsnrDb: number;
  /** With lowpassHz: the test windows' ASNR under the ideal lowpass (eval/floor.ts). */
  lowpassAsnrDb?: number;
  trainSeconds: number;
  epochs: number;
  /** Samples in per value out on this fold's test windows (eval compressionRatio). */
  compressionRatio: number;
}

export interface CvResult {
  kind: string;
  /** Window samples per latent value. */
  compressionRatio: number;
  folds: CvFold[];
  /** Means over the folds (each patient counts once, whatever its length). */
  mean: { asnrDb: number; pcaAsnrDb: number; prd: number; lowpassAsnrDb?: number };
  lowpassHz?: number;
  /** Where the folds validated (CvRequest.valBy). */
  valBy: 'time' | 'record';
  /** False when the run was stopped before every fold was done. */
  finished: boolean;
}

export interface CvUi {
  log(text: string): void;
  /** The training UI of one fold (progress, epochs). */
  training(record: string, index: number, count: number): SessionUi;
  /** The fold's training has ended (its progress can close). */
  trained?(record: string): void;
  shouldStop?(): boolean;
}

export async function runCv(request: CvRequest, ui: CvUi): Promise<CvResult> {
  const { config, dir } = request;
  if (config.source.kind !== 'csv') throw new RequestError(msg`cross-validation leaves out one recording at a time: give two or more recordings, not the synthetic generator`);
  const records = config.source.files;
  if (records.length < 2) throw new RequestError(msg`cross-validation needs two or more recordings (one to test, the others to train on); got ${records.length}`);
  const byRecord = request.valBy === 'record';
  if (byRecord && records.length < 3) throw new RequestError(msg`{valBy} record needs three or more recordings (one to test, one to validate, the others to train on); got ${records.length}`);
  // Each fold's directory is named after its test record.
  const names = records.map(recordName);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new MamError(`two recordings are named ${twice}: the fold directories are named after them; give each recording another name`);

  return withOutputLock(dir, async () => {
    const folds: CvFold[] = [];
    let finished = true;
    for (const [i, record] of records.entries()) {
      if (ui.shouldStop?.()) { finished = false; break; }
      const model = join(dir, names[i]!);
      const v = (i + 1) % records.length;
      const trainOn = names.filter((_, k) => k !== i && !(byRecord && k === v)).join(', ');
      ui.log(`fold ${i + 1} of ${records.length}: test on ${names[i]}, ${byRecord ? `validate on ${names[v]}, ` : ''}train on ${trainOn}`);
      const fold: TrainConfig = { ...config, pipeline: { ...config.pipeline, testRecords: [record], ...(byRecord ? { valRecords: [records[v]!] } : {}) } };
      const run = await trainOrResume(fold, model, ui.training(names[i]!, i, records.length));
      ui.trained?.(names[i]!);
      if (!run.finished) { finished = false; break; }
      folds.push(await testFold(model, record, request.lowpassHz));
      const f = folds.at(-1)!;
      ui.log(`fold ${names[i]}: test ASNR ${f.asnrDb.toFixed(2)} dB, PCA ${f.pcaAsnrDb.toFixed(2)} dB (${f.windows} windows, ${f.epochs} epochs, ${f.trainSeconds.toFixed(0)} s)`);
    }
    const mean = (pick: (f: CvFold) => number) => (folds.length ? folds.reduce((a, f) => a + pick(f), 0) / folds.length : Number.NaN);
    const result: CvResult = {
      kind: config.spec.kind, compressionRatio: folds.length ? mean((f) => f.compressionRatio) : config.spec.window / config.spec.latent, folds,
      mean: {
        asnrDb: mean((f) => f.asnrDb), pcaAsnrDb: mean((f) => f.pcaAsnrDb), prd: mean((f) => f.prd),
        ...(request.lowpassHz !== undefined ? { lowpassAsnrDb: mean((f) => f.lowpassAsnrDb!) } : {}),
      },
      ...(request.lowpassHz !== undefined ? { lowpassHz: request.lowpassHz } : {}),
      valBy: byRecord ? 'record' : 'time',
      finished,
    };
    await fs.mkdir(dir, { recursive: true });
    await writeFileAtomically(join(dir, CV_JSON), [`${JSON.stringify(snakeKeys(result), null, 2)}\n`]);
    return result;
  });
}

/** The fold's model on its test record, beside the PCA baseline its training measured on the same windows. */
async function testFold(dir: string, record: string, lowpassHz?: number): Promise<CvFold> {
  const { model, metadata } = await loadAutoencoder(dir);
  try {
    const data = await evaluationData(metadata);
    const overall: MetricSummary = evaluate(model, data).overall;
    const { state } = metadata.training;
    const floor = lowpassHz === undefined ? undefined : (await lowpassFloor(data, metadata.data.pipeline, lowpassHz)).overall.asnr_db;
    return {
      record, model: dir, windows: overall.windows, asnrDb: overall.asnr_db, prd: overall.prd, snrP5Db: overall.snr_p5_db,
      pcaAsnrDb: metadata.baseline.testAsnrDb ?? Number.NaN, ...(floor !== undefined ? { lowpassAsnrDb: floor } : {}), trainSeconds: state.history.reduce((a, r) => a + r.seconds, 0), epochs: state.epoch,
      compressionRatio: compressionRatio(data.windows, metadata.spec.latent),
    };
  } finally {
    model.dispose();
  }
}
