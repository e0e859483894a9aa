// MIT-format annotation files against MIT-BIH record 100 and hand-built bytes, and the beat
// metrics against a hand-computed case.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { aamiClass, beatCounts, isBeat, parseAnnotations, readAnnotations } from '../src/data/wfdb/annotations.js';
import { beatQuality, type BeatMark } from '../src/metrics/beats.js';
import { MamError } from '../src/errors.js';

const close = (got: number, want: number, tol: number, what = '') =>
  assert.ok(Math.abs(got - want) <= tol, `${what} ${got} != ${want} (tolerance ${tol})`);

// The whole record's annotations are in ../shared/ecg/wfdb/ beside the repository (or
// $MAM_ECG_DIR/wfdb); the repository ships those of its first minute (data/wfdb/).
const ECG = process.env.MAM_ECG_DIR ?? fileURLToPath(new URL('../../../shared/ecg/', import.meta.url));
const ATR_100 = `${ECG}/wfdb/100.atr`;
const ATR_60S = fileURLToPath(new URL('../../data/wfdb/mitdb_100_60s.atr', import.meta.url));

/** 16-bit words as little-endian bytes. */
function words(...ws: number[]): Uint8Array {
  const out = new Uint8Array(ws.length * 2);
  ws.forEach((w, i) => { out[2 * i] = w & 0xff; out[2 * i + 1] = w >> 8; });
  return out;
}
const ann = (code: number, increment: number) => (code << 10) | increment;
const SKIP = 59 << 10, NUM = 60 << 10, SUB = 61 << 10, CHN = 62 << 10, AUX = 63 << 10;
const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

describe("the repository's first minute of 100.atr", () => {
  it('73 N, 1 A and the rhythm annotation +, with the end word', async () => {
    const file = await readAnnotations(ATR_60S);
    assert.equal(file.endMarker, true);
    assert.equal(file.annotations.length, 75);
    assert.deepEqual(beatCounts(file.annotations).map((b) => [b.symbol, b.aami, b.count]), [['N', 'N', 73], ['A', 'S', 1]]);
    assert.ok(file.annotations.every((a) => a.sample < 21600));
  });
});

describe('MIT-BIH 100.atr', { skip: !existsSync(ATR_100) && 'needs ../shared' }, () => {
  it('2,274 annotations: 2,239 N, 33 A, 1 V, 1 +; the first ones as decoded by hand', async () => {
    const file = await readAnnotations(ATR_100);
    assert.equal(file.annotations.length, 2274);
    assert.equal(file.endMarker, true);
    // xxd: 1270 03fc 284e 0000 3b04 2505 2405 1c05
    //   0x7012: code 28 '+', increment 18            -> sample 18
    //   0xfc03: AUX, length 3: "(N" NUL, one pad byte -> the '+' annotation's aux
    //   0x043b: code 1 N, increment 59               -> sample 77
    //   0x0525: N +293 -> 370; 0x0524: N +292 -> 662; 0x051c: N +284 -> 946
    const first = file.annotations.slice(0, 5).map((a) => [a.sample, a.symbol]);
    assert.deepEqual(first, [[18, '+'], [77, 'N'], [370, 'N'], [662, 'N'], [946, 'N']]);
    assert.equal(file.annotations[0]!.aux, '(N');
    assert.equal(file.annotations[1]!.aux, undefined);
    assert.deepEqual(beatCounts(file.annotations), [
      { symbol: 'N', aami: 'N', count: 2239 },
      { symbol: 'A', aami: 'S', count: 33 },
      { symbol: 'V', aami: 'V', count: 1 },
    ]);
    assert.equal(file.annotations.filter((a) => a.symbol === '+').length, 1);
    const samples = file.annotations.map((a) => a.sample);
    assert.ok(samples.every((s, i) => i === 0 || s >= samples[i - 1]!), 'samples in order');
  });
});

describe('annotation bytes', () => {
  it('SKIP: a signed 32-bit step, high word first, then the next annotation\'s own increment', () => {
    const bytes = words(
      ann(1, 10), // N at 10
      SKIP, 0x0001, 0x2345, ann(1, 5), // +74565, then +5: 74580
      SKIP, 0xffff, 0xff9c, ann(5, 20), // -100, then +20: 74500
      0,
    );
    const { annotations, endMarker } = parseAnnotations(bytes, 'x.atr');
    assert.equal(endMarker, true);
    assert.deepEqual(annotations.map((a) => [a.sample, a.symbol]), [[10, 'N'], [74580, 'N'], [74500, 'V']]);
  });

  it('the 4 SKIP bytes b0 b1 b2 b3 read as b1 b0 b3 b2 (big-endian), as WFDB writes them', () => {
    const bytes = Uint8Array.from([...words(SKIP), 0x12, 0x34, 0x56, 0x78, ...words(ann(1, 0))]);
    assert.equal(parseAnnotations(bytes, 'x.atr').annotations[0]!.sample, 0x34127856);
  });

  it('NUM, SUB, CHN set the annotation before them; NUM and CHN carry over, SUB does not', () => {
    const bytes = words(
      ann(1, 1), NUM | 7, SUB | 3, CHN | 2,
      ann(5, 1), CHN | 5,
      ann(8, 1),
      ann(1, 1), NUM | 1023,
      0,
    );
    const got = parseAnnotations(bytes, 'x.atr').annotations.map(({ sample, symbol, num, subtype, chan }) => ({ sample, symbol, num, subtype, chan }));
    assert.deepEqual(got, [
      { sample: 1, symbol: 'N', num: 7, subtype: 3, chan: 2 },
      { sample: 2, symbol: 'V', num: 7, subtype: 0, chan: 5 },
      { sample: 3, symbol: 'A', num: 7, subtype: 0, chan: 5 },
      { sample: 4, symbol: 'N', num: 1023, subtype: 0, chan: 5 }, // 10 bits, unsigned
    ]);
  });

  it('AUX: odd length padded to even, even length not; it belongs to one annotation', () => {
    const text = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
    const bytes = concat(
      words(ann(28, 4), AUX | 3), text('(AF'), Uint8Array.of(0),
      words(ann(1, 1), ann(28, 1), AUX | 2), text('ab'),
      words(ann(1, 1), 0),
    );
    const got = parseAnnotations(bytes, 'x.atr').annotations.map((a) => [a.sample, a.symbol, a.aux]);
    assert.deepEqual(got, [[4, '+', '(AF'], [5, 'N', undefined], [6, '+', 'ab'], [7, 'N', undefined]]);
  });

  it('a file without the end word is read, and says so', () => {
    const file = parseAnnotations(words(ann(1, 4), ann(5, 300)), 'x.atr');
    assert.equal(file.endMarker, false);
    assert.deepEqual(file.annotations.map((a) => a.sample), [4, 304]);
    assert.equal(parseAnnotations(new Uint8Array(0), 'x.atr').annotations.length, 0);
  });

  it('codes without a WFDB mnemonic are kept as [code]', () => {
    const got = parseAnnotations(words(ann(50, 3), ann(15, 1), ann(41, 1)), 'x.atr').annotations.map((a) => [a.code, a.symbol]);
    assert.deepEqual(got, [[50, '[50]'], [15, '[15]'], [41, 'r']]);
  });

  it('malformed files: one line naming the file, the byte offset and the fix', () => {
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['odd length', concat(words(ann(1, 4)), Uint8Array.of(5)), /^x\.atr: byte 2: the file ends inside a 16-bit word \(odd size, 3 bytes\)/],
      ['cut inside SKIP', words(ann(1, 4), SKIP, 0x0001), /^x\.atr: byte 2: the file ends inside a SKIP/],
      ['cut inside AUX', concat(words(ann(1, 4), AUX | 3), Uint8Array.of(0x28, 0x4e)), /^x\.atr: byte 2: the file ends inside an AUX of 3 bytes/],
      ['SUB first', words(SUB | 1, ann(1, 4)), /^x\.atr: byte 0: a SUB before any annotation/],
    ];
    for (const [what, bytes, pattern] of cases) {
      assert.throws(() => parseAnnotations(bytes, 'x.atr'), (e: unknown) => {
        assert.ok(e instanceof MamError, what);
        assert.match(e.message, pattern, what);
        assert.match(e.message, /give a whole MIT-format annotation file/, what);
        assert.ok(!e.message.includes('\n'), what);
        assert.equal(e.file, 'x.atr', what);
        return true;
      });
    }
  });

  it('a missing file: a MamError naming it', async () => {
    await assert.rejects(readAnnotations('/nonexistent/200.atr'), (e: unknown) => {
      assert.ok(e instanceof MamError);
      assert.match(e.message, /^\/nonexistent\/200\.atr: no such file: /);
      return true;
    });
  });
});

describe('beat codes and AAMI classes', () => {
  it('beats are N L R a V F J A S E j / Q B e f', () => {
    const beats = Array.from({ length: 64 }, (_, c) => c).filter(isBeat);
    assert.deepEqual(beats, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 25, 34, 38]);
  });

  it('N = N L R e j, S = A a J S, V = V E, F = F, Q = / f Q B; others none', () => {
    const classes = Object.fromEntries(['N', 'L', 'R', 'e', 'j', 'A', 'a', 'J', 'S', 'V', 'E', 'F', '/', 'f', 'Q', 'B'].map((s) => [s, aamiClass(s)]));
    assert.deepEqual(classes, { N: 'N', L: 'N', R: 'N', e: 'N', j: 'N', A: 'S', a: 'S', J: 'S', S: 'S', V: 'V', E: 'V', F: 'F', '/': 'Q', f: 'Q', Q: 'Q', B: 'Q' });
    for (const s of ['+', '~', '', 'toString', '[50]']) assert.equal(aamiClass(s), undefined, s);
  });
});

describe('beat metrics', () => {
  // Record 0: windows of 8 at 0 and 8; record 1: one at 100. mV = value * std + mean.
  //   w0 (mean 1, std 2):    ref [0 0 0 0 0 0 0 1],  recon the same but sample 7 = 0.5
  //   w1 (mean -1, std 0.5): ref [2 0 0 0 0 0 0 0],  recon the same but sample 8 = 1
  //   w2 (mean 0, std 1):    ref all 0.5, recon the same
  // Beat N at 8, half width 1: samples 7 (w0), 8 and 9 (w1):
  //   x = [3, 0, -1] mV, x^ = [2, -0.5, -1], e = [1, 0.5, 0]
  //   PRD = 100 sqrt(1.25) / sqrt(10); mean(x) = 2/3, ||x - mean|| = sqrt(78 / 9)
  //   (unnormalised it would be x = [1, 2, 0], x^ = [0.5, 1, 0]: PRD 100 sqrt(1.25) / sqrt(5))
  const ref = new Float32Array(24), rec = new Float32Array(24);
  ref[7] = 1; ref[8] = 2; ref.fill(0.5, 16);
  rec.set(ref); rec[7] = 0.5; rec[8] = 1;
  const beats: BeatMark[][] = [];
  beats[0] = [{ sample: 15, symbol: 'N' }, { sample: 8, symbol: 'N' }, { sample: 0, symbol: 'N' }, { sample: 3, symbol: 'V' }];
  beats[1] = [{ sample: 104, symbol: 'A' }, { sample: 103, symbol: '+' }];
  const result = beatQuality({
    windows: { data: ref, length: 8, count: 3, origin: [{ record: 0, start: 0 }, { record: 0, start: 8 }, { record: 1, start: 100 }] },
    reconstruction: rec,
    snr: Float64Array.of(10, 30, Infinity),
    mean: Float64Array.of(1, -1, 0),
    std: Float32Array.of(2, 0.5, 1),
    beats,
    halfWidth: 1,
    classOf: aamiClass,
  });

  it('windows and ASNR per class: a window with an N and a V beat counts for both; SNR clamped', () => {
    const [r0, r1] = result.records;
    assert.deepEqual([r0!.record, r1!.record], [0, 1]);
    assert.deepEqual(Object.keys(r0!.classes), ['N', 'V']);
    assert.deepEqual([r0!.classes.N!.windows, r0!.classes.N!.asnr_db], [2, 20]);
    assert.deepEqual([r0!.classes.V!.windows, r0!.classes.V!.asnr_db], [1, 10]);
    assert.deepEqual([r1!.classes.S!.windows, r1!.classes.S!.asnr_db], [1, 200]);
    assert.deepEqual(Object.keys(result.overall.classes), ['N', 'S', 'V']);
    assert.equal(result.overall.classes.N!.asnr_db, 20);
  });

  it('PRD per beat in mV over a segment spanning two windows; beats at the edges uncovered', () => {
    const n = result.records[0]!.classes.N!;
    assert.deepEqual([n.beats, n.beats_uncovered], [1, 2]); // 0 and 15 reach outside the windows
    close(n.prd, (100 * Math.sqrt(1.25)) / Math.sqrt(10), 1e-6, 'PRD');
    close(n.prdn, (100 * Math.sqrt(1.25)) / Math.sqrt(78 / 9), 1e-6, 'PRDN');
    const v = result.records[0]!.classes.V!;
    assert.deepEqual([v.beats, v.beats_uncovered, v.prd, v.prdn], [1, 0, 0, 0]);
  });

  it('per symbol too, most beats first; a symbol without a class only there', () => {
    assert.deepEqual(Object.keys(result.overall.symbols), ['N', '+', 'A', 'V']);
    assert.equal(result.overall.symbols['+']!.windows, 1);
    assert.equal(result.records[1]!.symbols.A!.beats, 1);
  });

  it('overlapping windows: a sample comes from the first window covering it', () => {
    // Two windows over samples 0..7 and 4..11: the first exact, the second all wrong.
    const data = new Float32Array(16).fill(1), recon = Float32Array.from(data, (_, i) => (i < 8 ? 1 : 3));
    const r = beatQuality({
      windows: { data, length: 8, count: 2, origin: [{ record: 0, start: 0 }, { record: 0, start: 4 }] },
      reconstruction: recon, snr: Float64Array.of(200, 0), mean: [0, 0], std: [1, 1],
      beats: [[{ sample: 6, symbol: 'V' }, { sample: 9, symbol: 'V' }]], halfWidth: 1, classOf: aamiClass,
    });
    // Beat 6: samples 5..7 from the first window (exact); beat 9: 8..10 from the second, e = 2 on x = 1.
    const v = r.overall.classes.V!;
    assert.equal(v.beats, 2);
    close(v.prd, (0 + 200) / 2, 1e-9, 'PRD');
    assert.equal(v.windows, 2);
  });

  it('beats in no evaluated window count nowhere (not as uncovered): another split holds them', () => {
    const base = { windows: { data: ref, length: 8, count: 3, origin: [{ record: 0, start: 0 }, { record: 0, start: 8 }, { record: 1, start: 100 }] }, reconstruction: rec, snr: new Float64Array(3), mean: [0, 0, 0], std: [1, 1, 1], halfWidth: 1, classOf: aamiClass };
    const inside = beatQuality({ ...base, beats: [[{ sample: 8, symbol: 'N' }]] }).overall.classes.N!;
    const outside = beatQuality({ ...base, beats: [[{ sample: 8, symbol: 'N' }, { sample: 16, symbol: 'N' }, { sample: 60, symbol: 'N' }]] }).overall.classes.N!;
    assert.deepEqual([outside.beats, outside.beats_uncovered, outside.windows], [1, 0, 1]);
    assert.deepEqual(outside, inside);
  });

  it('inputs that do not fit are refused', () => {
    const base = { windows: { data: ref, length: 8, count: 3, origin: [{ record: 0, start: 0 }, { record: 0, start: 8 }, { record: 1, start: 100 }] }, reconstruction: rec, snr: new Float64Array(3), mean: [0, 0, 0], std: [1, 1, 1], beats: [], halfWidth: 1, classOf: aamiClass };
    assert.throws(() => beatQuality({ ...base, snr: new Float64Array(2) }), /3 windows but 2 SNR values/);
    assert.throws(() => beatQuality({ ...base, reconstruction: rec.subarray(1) }), /reconstruction has 23/);
    assert.throws(() => beatQuality({ ...base, halfWidth: 0.5 }), /half width/);
  });
});
