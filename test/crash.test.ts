// Nothing lost under faults: the atomic writers clean what crashed runs left (and only that),
// a model swap killed between its renames is put back, the C pair is published as one unit,
// and one run at a time holds an output. The crash cases kill the real CLI at the rename
// points (MAM_TEST_CRASH_AT, see src/io/atomic.ts) and then look at what is on disk.
import assert from 'node:assert/strict';
import { existsSync, promises as fs, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MamError } from '../src/errors.js';
import { cleanStaleTemporaries, writeDirAtomically, writeFileAtomically } from '../src/io/atomic.js';
import { lockFileOf, lockOutput } from '../src/io/lock.js';
import { bootId } from '../src/io/owner.js';
import { modelDirExists } from '../src/model/files.js';
import { deadPid, liveProcess, mam, startMam, tempDir } from './cli-helpers.js';

const root = tempDir('mam-crash-test-');
let count = 0;
const fresh = () => mkdtempSync(join(root, `t${count++}-`));
const TINY = ['--epochs', '3', '--vcon-epochs', '1', '--synth-records', '6', '--synth-seconds', '8', '--encoder', '16', '--latent', '6', '--decoder', '16'];

describe('atomic writers', () => {
  it('a file write removes the temporaries of dead runs (and ones with its own PID it did not make), keeps those of running ones and foreign files', async () => {
    const dir = fresh();
    const sleeper = liveProcess();
    try {
      const dead = `.out.csv.tmp-${deadPid()}-Ab12Cd`, live = `.out.csv.tmp-${sleeper.pid}-Ef34Gh`, reused = `.out.csv.tmp-${process.pid}-Ij56Kl`;
      for (const n of [dead, live, reused, '.out.csv.tmp-legacy', 'other.csv']) writeFileSync(join(dir, n), 'x');
      await writeFileAtomically(join(dir, 'out.csv'), ['a,b\n', new TextEncoder().encode('1,2\n')]);
      assert.equal(readFileSync(join(dir, 'out.csv'), 'utf8'), 'a,b\n1,2\n');
      assert.deepEqual((await fs.readdir(dir)).sort(), [live, '.out.csv.tmp-legacy', 'other.csv', 'out.csv'].sort());
      // Holding the output's lock, no other run can be writing it: a live run's temporary is a leftover too.
      const release = await lockOutput(join(dir, 'out.csv'), 'file');
      await writeFileAtomically(join(dir, 'out.csv'), ['again\n']);
      await release();
      assert.deepEqual((await fs.readdir(dir)).sort(), ['.out.csv.tmp-legacy', 'other.csv', 'out.csv']);
    } finally {
      sleeper.kill();
    }
  });

  it('a directory moved aside by a crashed swap is put back when the target is missing, removed when it is not', async () => {
    const dir = fresh();
    const target = join(dir, 'm');
    const aside = `.m.old-${deadPid()}-Xy12Zw`;
    await fs.mkdir(join(dir, aside));
    writeFileSync(join(dir, aside, 'a'), 'previous');
    assert.deepEqual(await cleanStaleTemporaries(target), [aside]);
    assert.equal(readFileSync(join(target, 'a'), 'utf8'), 'previous');
    await fs.mkdir(join(dir, `.m.old-${deadPid()}-Qq12Rr`));
    await writeDirAtomically(target, { b: 'new' });
    assert.deepEqual(await fs.readdir(dir), ['m']);
    assert.deepEqual(await fs.readdir(target), ['b']);
  });
});

describe('output lock', () => {
  it('is re-entrant within a run, refuses a live owner, takes over a dead one, and names another host', async () => {
    const dir = fresh();
    const target = join(dir, 'out');
    const release = await lockOutput(target);
    const again = await lockOutput(target);
    await again();
    assert.ok(existsSync(lockFileOf(target)), 'released by the inner holder');
    await release();
    assert.ok(!existsSync(lockFileOf(target)));

    const sleeper = liveProcess();
    try {
      writeFileSync(lockFileOf(target), JSON.stringify({ pid: sleeper.pid, host: hostname(), started: 'then' }));
      await assert.rejects(lockOutput(target), (e: unknown) => e instanceof MamError && new RegExp(`being written by another mam run \\(pid ${sleeper.pid}, since then\\)`).test(e.message));
    } finally {
      sleeper.kill();
    }
    writeFileSync(lockFileOf(target), JSON.stringify({ pid: deadPid(), host: hostname(), started: 'then' }));
    await (await lockOutput(target))();
    writeFileSync(lockFileOf(target), JSON.stringify({ pid: 1, host: 'elsewhere', started: 'then' }));
    await assert.rejects(lockOutput(target), /locked by a mam run on host elsewhere .*remove .*\.out\.lock if no run is using/);
  });

  it('a reused PID does not keep a lock: another boot\'s, or ours without our holding it; junk is stale; a release leaves another run\'s lock alone', async () => {
    const target = join(fresh(), 'out');
    const sleeper = liveProcess();
    try {
      if (bootId()) {
        writeFileSync(lockFileOf(target), JSON.stringify({ pid: sleeper.pid, host: hostname(), started: 'then', boot: 'an-earlier-boot' }));
        await (await lockOutput(target))();
      }
      writeFileSync(lockFileOf(target), JSON.stringify({ pid: process.pid, host: hostname(), started: 'then', boot: bootId() }));
      await (await lockOutput(target))();
      writeFileSync(lockFileOf(target), '{"pid": 12');
      const release = await lockOutput(target);
      // Someone replaced our lock by hand: our release must not remove theirs.
      const theirs = JSON.stringify({ pid: sleeper.pid, host: hostname(), started: 'now', boot: bootId(), token: 'theirs' });
      writeFileSync(lockFileOf(target), theirs);
      await release();
      assert.equal(readFileSync(lockFileOf(target), 'utf8'), theirs);
      await assert.rejects(lockOutput(target), /being written by another mam run .*or, if no mam run is using it, remove .*\.out\.lock/);
    } finally {
      sleeper.kill();
    }
  });

  it('a model directory moved aside by a killed save is put back before a run decides to start afresh, unless a live run holds its lock', async () => {
    const dir = fresh();
    const aside = join(dir, `.m.old-${deadPid()}-Zz12Yy`);
    await fs.mkdir(aside);
    writeFileSync(join(aside, 'mam.json'), '{}');
    const sleeper = liveProcess();
    try {
      writeFileSync(lockFileOf(join(dir, 'm')), JSON.stringify({ pid: sleeper.pid, host: hostname(), started: 'now', boot: bootId(), token: 't' }));
      assert.equal(await modelDirExists(join(dir, 'm')), false, 'a live run is between its renames: leave it');
    } finally {
      sleeper.kill();
    }
    await new Promise((r) => sleeper.on('exit', r));
    assert.equal(await modelDirExists(join(dir, 'm')), true);
    assert.equal(readFileSync(join(dir, 'm', 'mam.json'), 'utf8'), '{}');
  });

  it('mam train on an output another run holds is refused at once, before any data is read', async () => {
    const out = join(fresh(), 'model');
    const release = await lockOutput(out);
    try {
      const r = mam(['train', ...TINY, '--out', out]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^mam: ${out} is being written by another mam run \\(pid ${process.pid}`));
      assert.doesNotMatch(r.stderr, /data:/);
    } finally {
      await release();
    }
  });

  it('two mam train runs on one output: the second is refused; SIGTERM stops the first with a save, as Ctrl-C does', async () => {
    const out = join(fresh(), 'model');
    const first = startMam(['train', ...TINY, '--epochs', '500', '--out', out]);
    let stderr = '';
    first.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const firstDone = new Promise<number | null>((resolve) => first.on('exit', resolve));
    while (!/epoch 1:/.test(stderr)) await new Promise((r) => setTimeout(r, 50));
    const second = mam(['train', ...TINY, '--out', out]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /is being written by another mam run/);
    first.kill('SIGTERM');
    assert.equal(await firstDone, 143, stderr);
    assert.match(stderr, /stopping after this step/);
    const meta = JSON.parse(readFileSync(join(out, 'mam.json'), 'utf8')) as { training: { state: { step: number; epoch: number; finished: boolean } } };
    assert.ok(meta.training.state.step > 0 && !meta.training.state.finished);
    const resumed = mam(['train', '--resume', out, '--epochs', String(meta.training.state.epoch + 1), '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(await fs.readdir(join(out, '..')), ['model']);
  });

  it('mam train --out a file or a foreign directory is refused before any data is read', () => {
    const dir = fresh();
    writeFileSync(join(dir, 'a-file'), 'x');
    mkdirWith(join(dir, 'notes'), 'readme.txt');
    for (const [out, why] of [[join(dir, 'a-file'), /is a file, not a directory/], [join(dir, 'notes'), /exists and is not a mam model directory/]] as const) {
      const r = mam(['train', ...TINY, '--out', out]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, why);
      assert.doesNotMatch(r.stderr, /data:|baseline:/);
    }
    assert.equal(readFileSync(join(dir, 'a-file'), 'utf8'), 'x');
  });
});

function mkdirWith(dir: string, file: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), 'mine');
}

describe('killed at the rename points', () => {
  it('training killed between moving the old checkpoint aside and renaming the new one in: nothing lost, the leftovers cleaned', async () => {
    const dir = fresh();
    const out = join(dir, 'model');
    const crashed = mam(['train', ...TINY, '--out', out], { MAM_TEST_CRASH_AT: 'dir-moved-aside' });
    assert.equal(crashed.signal, 'SIGKILL');
    const left = await fs.readdir(dir);
    assert.ok(!left.includes('model'));
    assert.ok(left.some((n) => /^\.model\.old-\d+-\w{6}$/.test(n)) && left.some((n) => /^\.model\.tmp-\d+-\w{6}$/.test(n)), left.join(' '));
    // The checkpoint of epoch 1 is back, and the run resumes from it.
    const resumed = mam(['train', '--resume', out, '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming .* at epoch 1/);
    assert.equal((JSON.parse(resumed.stdout) as { epochs: number }).epochs, 3);
    assert.deepEqual(await fs.readdir(dir), ['model']);
  });

  it('training killed after the new checkpoint is in place: the old one is removed by the next run', async () => {
    const dir = fresh();
    const out = join(dir, 'model');
    const crashed = mam(['train', ...TINY, '--out', out], { MAM_TEST_CRASH_AT: 'dir-published' });
    assert.equal(crashed.signal, 'SIGKILL');
    assert.ok((await fs.readdir(dir)).some((n) => /^\.model\.old-/.test(n)));
    const resumed = mam(['train', '--resume', out, '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming .* at epoch 2/);
    assert.deepEqual(await fs.readdir(dir), ['model']);
  });

  it('a file write killed before its rename: the old file intact, the temporary cleaned by the next write', async () => {
    const dir = fresh();
    const out = join(dir, 'ecg.csv');
    writeFileSync(out, 'old\n');
    const crashed = mam(['synth', '--seconds', '2', '--out', out], { MAM_TEST_CRASH_AT: 'file-written' });
    assert.equal(crashed.signal, 'SIGKILL');
    assert.equal(readFileSync(out, 'utf8'), 'old\n');
    const left = (await fs.readdir(dir)).filter((n) => n !== 'ecg.csv');
    assert.equal(left.length, 1);
    assert.match(left[0]!, /^\.ecg\.csv\.tmp-\d+-\w{6}$/);
    assert.ok(readFileSync(join(dir, left[0]!), 'utf8').startsWith('time_s,ECG\n'), 'the temporary held the whole new file');
    assert.equal(mam(['synth', '--seconds', '2', '--out', out]).code, 0);
    assert.deepEqual(await fs.readdir(dir), ['ecg.csv']);
    assert.match(readFileSync(out, 'utf8'), /^time_s,ECG\n/);
  });

  it('a C export killed mid-swap never leaves a header beside another export\'s source', async () => {
    const dir = fresh();
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    for (const [out, seed] of [[a, '1'], [b, '2']] as const) assert.equal(mam(['train', ...TINY, '--epochs', '2', '--seed', seed, '--out', out]).code, 0);
    const c = join(dir, 'c');
    const pair = (d: string) => ['mam_model.h', 'mam_model.c'].map((n) => readFileSync(join(d, n), 'utf8')).join('\n');
    assert.equal(mam(['export', '--model', a, '--format', 'c', '--out', join(dir, 'ref-a')]).code, 0);
    assert.equal(mam(['export', '--model', b, '--format', 'c', '--out', join(dir, 'ref-b')]).code, 0);
    assert.equal(mam(['export', '--model', a, '--format', 'c', '--out', c]).code, 0);
    for (const point of ['dir-moved-aside', 'dir-published']) {
      const crashed = mam(['export', '--model', b, '--format', 'c', '--out', c], { MAM_TEST_CRASH_AT: point });
      assert.equal(crashed.signal, 'SIGKILL', point);
      // Whatever is on disk now is one whole export: a's (put back by the next write) or b's.
      await cleanStaleTemporaries(c);
      const now = pair(c);
      assert.ok(now === pair(join(dir, 'ref-a')) || now === pair(join(dir, 'ref-b')), `${point}: a mixed pair`);
      assert.equal(now, pair(join(dir, point === 'dir-moved-aside' ? 'ref-a' : 'ref-b')), point);
    }
    assert.equal(mam(['export', '--model', a, '--format', 'c', '--out', c]).code, 0);
    assert.equal(pair(c), pair(join(dir, 'ref-a')));
    assert.deepEqual((await fs.readdir(dir)).filter((n) => n.startsWith('.')), []);
  });
});
