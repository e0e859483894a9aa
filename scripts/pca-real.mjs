// The PCA figures behind the README's "Real recordings" (baseline removed, 256 Hz): no
// training, so they take about a minute.
//   node scripts/pca-real.mjs [RECORDS_DIR]     (default ../shared/ecg/wfdb)
// 1. Beat windows (128 samples, 16 components): --stretch on PCA, leave one patient out (fitted
//    on three, tested on the fourth), and the stretch chosen per test patient by leave-one-out
//    among the other three (nested: the test patient plays no part in the choice);
// 2. rr windows (beat-to-beat segments resampled to 128 or 256 samples, 28 components, scored on
//    the segments as they were), leave one patient out;
// 3. PCA fitted on the patient's own beats: the other half of its record, and its first 0.5 to
//    5 minutes (calibration on the wearer), tested on the rest; beat and rr windows.
// Needs `npm run build` first.
import { readRecording } from '../dist/src/data/recordings.js';
import { prepareData } from '../dist/src/data/pipeline.js';
import { fitPca, pcaReconstruct } from '../dist/src/metrics/pca.js';
import { setAsnr } from '../dist/src/metrics/reconstruction.js';

const dir = process.argv[2] ?? '../shared/ecg/wfdb';
const BEATS = { label: 'beat windows of 128, 16 components', latent: 16, extra: { windows: 'beats' } };
const RR = { label: 'rr windows of 256, 28 components', latent: 28, extra: { windows: 'rr', window: 256, hop: 256 } };
const names = ['100', '106', '108', '121'];
const records = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await readRecording(`${dir}/${n}.hea`)])));
const STRETCHES = [0, 0.05, 0.1, 0.15, 0.2, 0.3];

const settings = (scheme, extra) => ({
  fs: 256, window: 128, hop: 128, baseline: 'highpass', normalization: { method: 'window' },
  split: { train: 0.9, val: 0.1, test: 0 }, seed: 1, ...scheme.extra, ...extra,
});
/** PCA fitted on the training windows of `data`, on its test windows (rr: on the segments). */
const pcaAsnr = (data, latent) => {
  const pca = fitPca(data.train.data, data.train.length, latent);
  return setAsnr(data.test, pcaReconstruct(pca, data.test.data, data.test.length));
};
/** Fitted on `pool` but `test` (whole), stretched by `stretch`, tested on `test`. */
const leaveOut = (pool, test, stretch, scheme = BEATS) => pcaAsnr(prepareData(pool.map((n) => records[n]), settings(scheme, { testRecords: [test], ...(stretch ? { stretch } : {}) })), scheme.latent);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const dB = (v) => v.toFixed(2);

console.log(`PCA, ${BEATS.label}, leave one patient out (${names.join(', ')})`);
for (const stretch of STRETCHES) {
  const per = names.map((t) => leaveOut(names, t, stretch));
  console.log(`  --stretch ${stretch}: mean ${dB(mean(per))} dB (${per.map(dB).join(', ')})`);
}
const nested = names.map((test) => {
  const others = names.filter((n) => n !== test);
  const inner = STRETCHES.map((s) => mean(others.map((v) => leaveOut(others, v, s))));
  const best = STRETCHES[inner.indexOf(Math.max(...inner))];
  return { test, best, asnr: leaveOut(names, test, best) };
});
console.log(`  stretch chosen by leave-one-out among the other three: ${nested.map((r) => `${r.test}: ${r.best}`).join(', ')}; mean ${dB(mean(nested.map((r) => r.asnr)))} dB`);

for (const scheme of [{ ...RR, label: 'rr windows of 128, 28 components', extra: { windows: 'rr' } }, RR]) {
  const per = names.map((t) => leaveOut(names, t, 0, scheme));
  console.log(`PCA, ${scheme.label}, leave one patient out: mean ${dB(mean(per))} dB (${per.map(dB).join(', ')})`);
}

for (const scheme of [BEATS, RR]) {
  console.log(`PCA fitted on the patient's own beats, ${scheme.label}`);
  const own = names.map((n) => {
    const halves = prepareData([records[n]], settings(scheme, { split: { train: 0.5, val: 0, test: 0.5 } }));
    const swapped = { train: halves.test, test: halves.train };
    const [a, b] = [pcaAsnr(halves, scheme.latent), pcaAsnr(swapped, scheme.latent)];
    return (a * halves.test.count + b * halves.train.count) / (halves.test.count + halves.train.count);
  });
  console.log(`  the other half of the record (both ways round): mean ${dB(mean(own))} dB (${own.map(dB).join(', ')})`);
  for (const minutes of [0.5, 1, 2, 5]) {
    const per = names.map((n) => {
      const share = (minutes * 60 * records[n].fs) / records[n].signal.length;
      return pcaAsnr(prepareData([records[n]], settings(scheme, { split: { train: share, val: 0, test: 1 - share } })), scheme.latent);
    });
    console.log(`  its first ${minutes} min, tested on the rest: mean ${dB(mean(per))} dB (${per.map(dB).join(', ')})`);
  }
}
