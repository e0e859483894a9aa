// Progress output (terminal and plain), the text tables and durations, and the SVG charts: exact
// lines under a fake clock, hand-aligned tables, well-formed and repeatable SVG, gaps for NaN, log
// ticks, reference lines where they belong.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createProgress, type ProgressStream } from '../src/report/progress.js';
import { formatTable, numberColumn } from '../src/report/table.js';
import { formatDuration, stripAnsi } from '../src/report/text.js';
import { escapeXml, fmt, lineChart, linearAxis, logAxis, niceStep, windowsChart } from '../src/report/svg.js';

/** A stream that keeps what is written, and a clock that moves only when told. */
function fakes(isTTY: boolean, columns?: number) {
  const chunks: string[] = [];
  const stream: ProgressStream = { write: (s: string) => chunks.push(s), isTTY, ...(columns === undefined ? {} : { columns }) };
  let t = 1000;
  return {
    stream,
    now: () => t,
    advance: (ms: number) => { t += ms; },
    text: () => chunks.join(''),
  };
}

describe('formatDuration', () => {
  it('m:ss under an hour, h:mm:ss from an hour, rounded to the second', () => {
    assert.equal(formatDuration(0), '0:00');
    assert.equal(formatDuration(9.4), '0:09');
    assert.equal(formatDuration(59.6), '1:00');
    assert.equal(formatDuration(754), '12:34');
    assert.equal(formatDuration(3599), '59:59');
    assert.equal(formatDuration(3600), '1:00:00');
    assert.equal(formatDuration(3725), '1:02:05');
    assert.equal(formatDuration(100 * 3600 + 61), '100:01:01');
  });

  it('unknown for NaN, infinite or negative', () => {
    for (const v of [NaN, Infinity, -1]) assert.equal(formatDuration(v), '-:--');
    assert.equal(formatDuration(-1, 1), '-:--');
  });

  it('with decimals: rounded once to that place, the fraction shown only when not zero', () => {
    assert.equal(formatDuration(300, 1), '5:00'); // mam data info on mitdb_100.csv: 108000 / 360 s
    assert.equal(formatDuration(60, 1), '1:00');
    assert.equal(formatDuration(61.5, 1), '1:01.5');
    assert.equal(formatDuration(59.94, 1), '0:59.9');
    assert.equal(formatDuration(59.96, 1), '1:00'); // 599.6 tenths round to 600: not 0:60.0
    assert.equal(formatDuration(3725.25, 1), '1:02:05.3'); // 37252.5 tenths round up
    assert.equal(formatDuration(9.05, 2), '0:09.05');
    assert.equal(formatDuration(86400 + 0.04, 1), '24:00:00');
  });
});

describe('formatTable', () => {
  it('widths from the widest cell or header; left names, right numbers; the header styled', () => {
    const lines = formatTable([{ header: 'layer' }, numberColumn('weights'), { header: 'pruned' }], [
      ['enc1', '2048', 'yes'],
      ['latent', '96', 'no'],
    ], { styleHeader: (l) => `[${l}]` });
    assert.deepEqual(lines, [
      '[layer  weights pruned]',
      'enc1      2048 yes',
      'latent      96 no',
    ]);
  });

  it('a given width is a minimum: a longer cell widens its column for every row', () => {
    const columns = [{ width: 4 }, { align: 'right' as const, width: 3 }, {}];
    assert.deepEqual(formatTable(columns, [['a', '1', 'x'], ['b', '22', 'y']]), ['a      1 x', 'b     22 y']);
    assert.deepEqual(formatTable(columns, [['a', '1', 'x'], ['longer', '1234', 'y']]), ['a         1 x', 'longer 1234 y']);
  });

  it('no trailing spaces: the last cell is not padded, empty cells at the end are left out', () => {
    const columns = [{ header: 'name' }, numberColumn('n', 5), { header: 'note' }];
    assert.deepEqual(formatTable(columns, [['a', '1', 'long note'], ['total', '12', ''], ['b']]), [
      'name      n note',
      'a         1 long note',
      'total    12',
      'b',
    ]);
  });

  it('a note runs on across the columns left and widens none of them', () => {
    const lines = formatTable([{ header: 'kind', width: 5 }, numberColumn('sparsity', 9), { header: 'fits', gap: 2 }], [
      ['MAC', '0.5', 'yes'],
      { cells: ['MAM'], note: 'no point reaches 32.6 dB' },
    ]);
    assert.deepEqual(lines, [
      'kind   sparsity  fits',
      'MAC         0.5  yes',
      'MAM   no point reaches 32.6 dB',
    ]);
  });

  it('escape codes take no room; an indent goes before every line', () => {
    const bold = (s: string) => `\x1b[1m${s}\x1b[22m`;
    const lines = formatTable([{}, numberColumn('', 4)], [[bold('ab'), '1'], ['abc', bold('22')]], { indent: '  ' });
    assert.deepEqual(lines.map(stripAnsi), ['  ab     1', '  abc   22']);
    assert.equal(lines[0], `  ${bold('ab')}     1`);
  });

  it('more cells than columns is a mistake', () => {
    assert.throws(() => formatTable([{}], [['a', 'b']]), /a table row of 2 cells for 1 columns/);
    assert.throws(() => formatTable([{}], [{ cells: ['a'], note: 'b' }]), RangeError);
  });
});

describe('progress, plain output', () => {
  it('one line per tenth, ETA from the average rate, then the done line', () => {
    const f = fakes(false);
    const p = createProgress({ total: 1000, label: 'epoch 1/3', stream: f.stream, now: f.now });
    for (let i = 0; i < 1000; i++) {
      f.advance(10);
      p.tick(1, i >= 500 ? 'loss 0.0123' : undefined);
    }
    p.done('val SNR 24.1 dB');
    const lines = f.text().split('\n');
    assert.equal(lines.pop(), '', 'ends with a newline');
    // 100 steps a second: at k tenths done, (10 - k) seconds are left.
    assert.deepEqual(lines, [
      'epoch 1/3 10% 100/1000 ETA 0:09',
      'epoch 1/3 20% 200/1000 ETA 0:08',
      'epoch 1/3 30% 300/1000 ETA 0:07',
      'epoch 1/3 40% 400/1000 ETA 0:06',
      'epoch 1/3 50% 500/1000 ETA 0:05',
      'epoch 1/3 60% 600/1000 ETA 0:04 loss 0.0123',
      'epoch 1/3 70% 700/1000 ETA 0:03 loss 0.0123',
      'epoch 1/3 80% 800/1000 ETA 0:02 loss 0.0123',
      'epoch 1/3 90% 900/1000 ETA 0:01 loss 0.0123',
      'epoch 1/3 done 1000/1000 in 0:10 val SNR 24.1 dB',
    ]);
    assert.ok(!/[\r\x1b]/.test(f.text()), 'no carriage returns or escape codes');
  });

  it('slow steps: a line every 30 s, with the ETA as h:mm:ss past an hour', () => {
    const f = fakes(false);
    const p = createProgress({ total: 100, label: 'prune', stream: f.stream, now: f.now });
    for (let i = 0; i < 6; i++) {
      f.advance(20_000);
      p.tick();
    }
    // 20 s a step: lines at 40 s, 80 s and 120 s (30 s since the last one each time).
    assert.deepEqual(f.text().split('\n').slice(0, -1), [
      'prune 2% 2/100 ETA 32:40',
      'prune 4% 4/100 ETA 32:00',
      'prune 6% 6/100 ETA 31:20',
    ]);

    const g = fakes(false);
    const q = createProgress({ total: 100, stream: g.stream, now: g.now });
    g.advance(60_000);
    q.tick();
    assert.equal(g.text(), '1% 1/100 ETA 1:39:00\n');
  });

  it('a big tick crosses several tenths with one line; done early says how far it got', () => {
    const f = fakes(false);
    const p = createProgress({ total: 10, label: 'sweep', stream: f.stream, now: f.now });
    f.advance(1000);
    p.tick(4, 'sparsity 0.4');
    f.advance(500);
    p.done('stopped early');
    assert.equal(f.text(), 'sweep 40% 4/10 ETA 0:02 sparsity 0.4\nsweep done 4/10 in 0:02 stopped early\n');
    p.tick();
    p.done();
    assert.equal(f.text().split('\n').length, 3, 'nothing after done');
  });

  it('line() prints plainly, without escape codes', () => {
    const f = fakes(false);
    const p = createProgress({ total: 5, stream: f.stream, now: f.now });
    p.line('\x1b[32mbest so far\x1b[39m');
    assert.equal(f.text(), 'best so far\n');
  });

  it('rejects a total that is not a finite number >= 0', () => {
    for (const total of [-1, NaN, Infinity]) assert.throws(() => createProgress({ total, stream: fakes(false).stream }), RangeError);
  });
});

describe('progress, terminal', () => {
  it('redraws one line with \\r at most every 100 ms and ends on a clean line', () => {
    const f = fakes(true, 80);
    const p = createProgress({ total: 1000, label: 'epoch 2/20', stream: f.stream, now: f.now });
    for (let i = 0; i < 1000; i++) {
      f.advance(1);
      p.tick(1, `loss ${(1 / (i + 1)).toFixed(4)}`);
    }
    p.done('loss 0.0010');
    const out = f.text();
    const draws = out.split('\r\x1b[K').slice(1);
    // One at the start, one per 100 ms of the 1 s of work, and the done line.
    assert.ok(draws.length >= 10 && draws.length <= 13, `${draws.length} redraws`);
    assert.equal(draws[0], 'epoch 2/20 [--------------------] 0% 0/1000 ETA -:--');
    assert.ok(draws.includes('epoch 2/20 [##########----------] 50% 500/1000 ETA 0:01 loss 0.0020'), draws.join('|'));
    assert.equal(draws.at(-1), 'epoch 2/20 done 1000/1000 in 0:01 loss 0.0010\n');
    for (const d of draws) assert.ok(d.replace('\n', '').length < 80, d);
  });

  it('trims the status to the terminal width, then the line itself', () => {
    const f = fakes(true, 50);
    const p = createProgress({ total: 10, label: 'train', stream: f.stream, now: f.now });
    f.advance(200);
    p.tick(5, 'loss 0.1234 val 0.2345 lr 0.001 beta 0.5');
    const last = f.text().split('\r\x1b[K').at(-1)!;
    assert.equal(last.length, 49);
    assert.ok(last.startsWith('train [##########----------] 50% 5/10 ETA 0:00 '), last);
    assert.ok(last.endsWith('…'));

    const g = fakes(true, 20);
    createProgress({ total: 10, label: 'train', stream: g.stream, now: g.now });
    assert.equal(g.text(), '\r\x1b[Ktrain [------------', '19 columns');
  });

  it('line() clears the bar, prints, and draws the bar again under it', () => {
    const f = fakes(true, 80);
    const p = createProgress({ total: 4, stream: f.stream, now: f.now });
    f.advance(1000);
    p.tick();
    const before = f.text().length;
    p.line('epoch 1: loss 0.5');
    assert.equal(f.text().slice(before), '\r\x1b[Kepoch 1: loss 0.5\n\r\x1b[K[#####---------------] 25% 1/4 ETA 0:03');
    p.done();
    assert.ok(f.text().endsWith('\r\x1b[Kdone 1/4 in 0:01\n'));
  });
});

/**
 * A small well-formedness check in place of an XML parser (Node has none): every tag is
 * well-shaped with quoted attributes, tags nest and close in order, and text holds no raw '<'
 * and no '&' that does not start an entity.
 */
function checkXml(svg: string): void {
  const stack: string[] = [];
  for (const token of svg.match(/<[^>]*>|[^<]+/g) ?? []) {
    if (!token.startsWith('<')) {
      assert.ok(!/&(?!(amp|lt|gt|quot|#\d+);)/.test(token), `bare & in ${JSON.stringify(token)}`);
      assert.ok(!token.includes('>'), `bare > in ${JSON.stringify(token)}`);
      continue;
    }
    const m = /^<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>$/.exec(token);
    assert.ok(m, `malformed tag ${token}`);
    const [, closing, name, , selfClosing] = m;
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else if (!selfClosing) stack.push(name!);
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
}

const attr = (tag: string, name: string) => Number(new RegExp(`\\s${name}="([^"]*)"`).exec(tag)![1]);
const tags = (svg: string, cls: string) => svg.match(new RegExp(`<[a-z]+ [^>]*class="${cls}"[^>]*>`, 'g')) ?? [];
const labels = (svg: string, cls: string) => [...svg.matchAll(new RegExp(`class="${cls}"[^>]*>([^<]*)<`, 'g'))].map((m) => m[1]);
const paths = (svg: string, cls: string) => tags(svg, cls).map((t) => /\sd="([^"]*)"/.exec(t)![1]!);

describe('svg helpers', () => {
  it('numbers: 2 decimals at most, no trailing zeros, no -0', () => {
    assert.deepEqual([1.005, 12.5, 12, -0.001, 3.14159, 1e-9].map(fmt), ['1', '12.5', '12', '0', '3.14', '0']);
  });

  it('escapes text', () => {
    assert.equal(escapeXml(`a < b & "c" > 'd'`), 'a &lt; b &amp; &quot;c&quot; &gt; &#39;d&#39;');
  });

  it('nice 1-2-5 steps and ticks', () => {
    assert.deepEqual([0.37, 180, 1.2, 2.5, 4, 8, 0.011].map(niceStep), [0.5, 200, 1, 2, 5, 10, 0.01]);
    const a = linearAxis(0.13, 0.91, 5);
    assert.deepEqual([a.lo, a.hi], [0, 1]);
    assert.deepEqual(a.ticks.map((t) => t.label), ['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
    // Not extended: the data range stays, the ticks inside it are kept.
    const b = linearAxis(0, 255, 4, false);
    assert.deepEqual([b.lo, b.hi], [0, 255]);
    assert.deepEqual(b.ticks.map((t) => t.label), ['0', '50', '100', '150', '200', '250']);
    assert.deepEqual(linearAxis(-3, -3).ticks.map((t) => t.label), ['-3.3', '-3.2', '-3.1', '-3.0', '-2.9', '-2.8', '-2.7']);
    assert.deepEqual(linearAxis(0, 3e6, 3).ticks.map((t) => t.label), ['0', '1e+6', '2e+6', '3e+6']);
  });

  it('log axis: labelled decades, minor ticks between', () => {
    const a = logAxis(0.1, 100);
    assert.deepEqual(a.ticks.filter((t) => t.label !== undefined).map((t) => t.label), ['0.1', '1', '10', '100']);
    assert.equal(a.ticks.length, 3 * 9 + 1);
    // Within one decade, 2x and 5x get labels too.
    assert.deepEqual(logAxis(1.5, 8).ticks.filter((t) => t.label !== undefined).map((t) => t.label), ['2', '5']);
  });
});

describe('lineChart', () => {
  const base = {
    title: 'Loss <per epoch> & more',
    xLabel: 'epoch',
    yLabel: 'loss',
    series: [
      { name: 'train', x: [1, 2, 3, 4, 5, 6, 7], y: [1, 2, NaN, 4, 5, Infinity, 7] },
      { name: 'validation', x: [1, 2, 3, 4, 5, 6, 7], y: [1.5, 2.5, 3, 4.5, 5, 6.5, 7.5], dashed: true },
    ],
  };

  it('is well-formed, repeatable, titled, with a legend entry per series', () => {
    const svg = lineChart(base);
    checkXml(svg);
    assert.equal(lineChart(base), svg);
    assert.ok(svg.includes('Loss &lt;per epoch&gt; &amp; more'));
    assert.ok(!svg.includes('<per epoch>'));
    assert.deepEqual(tags(svg, 'series').length, 2);
    for (const name of ['train', 'validation']) assert.ok(svg.includes(`>${name}</text>`), name);
    assert.ok(svg.includes('stroke-dasharray="6 4"'));
    assert.ok(!/NaN|Infinity|undefined/.test(svg));
  });

  it('skips NaN and infinite points: the path breaks into runs, a lone point is a dot', () => {
    const [train, val] = paths(lineChart(base), 'series');
    // Runs: [1, 2], [4, 5], [7].
    assert.equal(train!.match(/M/g)!.length, 3);
    assert.equal(train!.match(/L/g)!.length, 2);
    assert.ok(train!.endsWith('h0'));
    assert.equal(val!.match(/M/g)!.length, 1);
    assert.equal(val!.match(/L/g)!.length, 6);
  });

  it('log x: ticks at each decade, evenly spaced', () => {
    const svg = lineChart({
      title: 'SNR vs remaining weights', xLabel: 'remaining weights (%)', yLabel: 'SNR (dB)', logX: true,
      series: [{ name: 'MAM', x: [100, 30, 10, 3, 1, 0.3, 0.1], y: [30, 29, 28, 25, 20, 12, 5] }],
    });
    checkXml(svg);
    assert.deepEqual(labels(svg, 'xtick'), ['0.1', '1', '10', '100']);
    const xs = tags(svg, 'xtick').map((t) => attr(t, 'x'));
    const gaps = xs.slice(1).map((x, i) => x - xs[i]!);
    for (const g of gaps) assert.ok(Math.abs(g - gaps[0]!) < 0.02, `gaps ${gaps}`);
    const frame = tags(svg, 'frame')[0]!;
    assert.ok(Math.abs(xs[0]! - attr(frame, 'x')) < 0.01, 'the 0.1 tick is at the left edge');
    // Reversed: 100 on the left.
    const rev = lineChart({ title: 't', series: [{ name: 'a', x: [0.1, 100], y: [0, 1] }], logX: true, reverseX: true });
    const rx = tags(rev, 'xtick').map((t) => attr(t, 'x'));
    assert.deepEqual(labels(rev, 'xtick'), ['0.1', '1', '10', '100']);
    assert.ok(rx[0]! > rx[3]!);
  });

  it('draws a reference line at its y on the scale', () => {
    const svg = lineChart({
      title: 'SNR', width: 500, height: 300,
      series: [{ name: 'a', x: [0, 1, 2], y: [0, 4, 10] }],
      hLines: [{ y: 5, label: 'target 5 dB' }, { y: 2.5 }],
    });
    checkXml(svg);
    // Data 0..10 gives ticks 0, 2, ..., 10 and exactly that range.
    assert.deepEqual(labels(svg, 'ytick'), ['0', '2', '4', '6', '8', '10']);
    const frame = tags(svg, 'frame')[0]!;
    const top = attr(frame, 'y'), h = attr(frame, 'height');
    const [l5, l25] = tags(svg, 'hline');
    assert.ok(Math.abs(attr(l5!, 'y1') - (top + h / 2)) < 0.01, `${attr(l5!, 'y1')} vs ${top + h / 2}`);
    assert.ok(Math.abs(attr(l25!, 'y1') - (top + 0.75 * h)) < 0.01);
    assert.equal(attr(l5!, 'y1'), attr(l5!, 'y2'));
    assert.deepEqual(labels(svg, 'hline-label'), ['target 5 dB']);
  });

  it('a reference line outside the data widens the y range to show it', () => {
    const svg = lineChart({ title: 't', series: [{ name: 'a', x: [0, 1], y: [10, 20] }], hLines: [{ y: 40 }] });
    assert.equal(labels(svg, 'ytick').at(-1), '40');
  });

  it('copes with no usable points and rejects mismatched lengths', () => {
    checkXml(lineChart({ title: 'empty', series: [{ name: 'a', x: [1, 2], y: [NaN, NaN] }] }));
    checkXml(lineChart({ title: 'none', series: [] }));
    assert.throws(() => lineChart({ title: 't', series: [{ name: 'a', x: [1, 2], y: [1] }] }), /x has 2 values but y has 1/);
  });
});

describe('windowsChart', () => {
  const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * i) / 64 + k));
  const windows = [0, 1, 2, 3].map((k) => ({
    original: wave(256, k),
    reconstruction: wave(256, k).map((v) => 0.9 * v),
    label: `record ${k}, window ${17 + k}, SNR 31.2 dB <ok>`,
  }));

  it('one panel per window with its label, original and reconstruction', () => {
    const svg = windowsChart({ title: 'Reconstructions', windows, fs: 256 });
    checkXml(svg);
    assert.equal(windowsChart({ title: 'Reconstructions', windows, fs: 256 }), svg);
    assert.equal(tags(svg, 'window').length, 4);
    assert.equal(tags(svg, 'original').length, 4);
    assert.equal(tags(svg, 'reconstruction').length, 4);
    assert.deepEqual(labels(svg, 'window-label'), windows.map((w) => escapeXml(w.label)));
    assert.ok(svg.includes('>time (s)</text>'));
    // 256 samples at 256 Hz: 0 to 0.996 s, ticks inside that.
    assert.deepEqual(labels(svg, 'xtick').slice(0, 5), ['0.0', '0.2', '0.4', '0.6', '0.8']);
    for (const d of paths(svg, 'original')) assert.equal(d.match(/L/g)!.length, 255);
  });

  it('x in samples without fs; NaN leaves a gap; mismatched lengths are an error', () => {
    const original = [0, 1, NaN, 1, 0];
    const svg = windowsChart({ title: 'w', windows: [{ original, reconstruction: [0, 0.9, 0.8, 0.9, 0] }] });
    checkXml(svg);
    assert.ok(svg.includes('>sample</text>'));
    assert.equal(paths(svg, 'original')[0]!.match(/M/g)!.length, 2);
    assert.throws(() => windowsChart({ title: 'w', windows: [{ original, reconstruction: [0] }] }), /window 0/);
  });
});
