import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backends, createModel, getNumThreads, randn, resetNumThreads, setNumThreads } from '../../lib';
import { maxRelError } from '../reference';

const lib = path.join(__dirname, '..', '..', 'lib', 'index.js');

interface CpuFigures {
  threads: number;
  activeThreads: number;
  adaptiveThreads: boolean;
  cpuQuota: number | null;
}

// What a fresh process reports once its CPU executor has run a task; `cgroup`: run it in that
// cgroup (a folder whose cgroup.procs takes the child's pid).
function childReport(env: Record<string, string | undefined>, cgroup?: string): CpuFigures {
  const script = `const s = require(${JSON.stringify(lib)});
    s.randn([4], { seed: 1 }).data().then(() => { process.stdout.write(JSON.stringify(s.backends().cpu)); process.exit(0); });`;
  const r = cgroup
    ? spawnSync('/bin/sh', ['-c', `echo $$ > "${cgroup}/cgroup.procs" && exec "${process.execPath}" -e '${script.replace(/'/g, "'\\''")}'`], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } })
    : spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as CpuFigures;
}

// A cgroup of our own with a CPU quota of one core (v1 cpu controller, or v2 with cpu enabled),
// where this process may create one (root outside a read-only container); else why not.
function quotaCgroup(): { dir: string } | { why: string } {
  if (process.platform !== 'linux') return { why: 'cgroups are Linux only' };
  const name = `senet-test-${process.pid}`;
  const tries: Array<[string, (dir: string) => void]> = [
    ['/sys/fs/cgroup/cpu', (dir) => { fs.writeFileSync(`${dir}/cpu.cfs_period_us`, '100000'); fs.writeFileSync(`${dir}/cpu.cfs_quota_us`, '100000'); }],
    ['/sys/fs/cgroup', (dir) => fs.writeFileSync(`${dir}/cpu.max`, '100000 100000')],
  ];
  for (const [parent, limit] of tries) {
    const dir = `${parent}/${name}`;
    try {
      fs.mkdirSync(dir);
    } catch {
      continue;
    }
    try {
      limit(dir);
      // A process must be able to move in (cgroup v2 refuses some moves).
      if (spawnSync('/bin/sh', ['-c', `echo $$ > "${dir}/cgroup.procs"`]).status === 0) return { dir };
    } catch {
      // a limit that cannot be set
    }
    fs.rmdirSync(dir);
  }
  return { why: 'no cgroup with a CPU quota can be made here (not root, or a read-only cgroup filesystem)' };
}

/** A serial test that needs a team of two or more (and, with `adaptive`, the default team). */
function serialTeamTest(title: string, adaptive: boolean, fn: (t: ExecutionContext) => Promise<void>): void {
  const cpu = backends().cpu;
  const why = cpu.threads < 2 ? 'one thread here' : adaptive && !cpu.adaptiveThreads ? 'the team is fixed here (OMP_NUM_THREADS or SENET_ADAPTIVE_THREADS=0)' : '';
  if (why) test.skip(`${title} [skipped: ${why}]`, () => {});
  else test.serial(title, fn);
}

// These run in one process, in order: the first one sees the default (adaptive) team.
serialTeamTest('the default team follows the machine: a busy process next to it shrinks it, results stay correct', true, async (t) => {
  const cpu = backends().cpu;
  const model = createModel('seresnext26_32x4d', { device: 'cpu', numClasses: 10, inChannels: 3, stem: 'cifar', seed: 5 });
  model.eval();
  const x = randn([8, 16, 16, 3], { seed: 6 });
  const expected = await model.forward(x).data();
  // One core kept busy by another process: the team must leave it.
  const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  try {
    let smallest = backends().cpu.activeThreads;
    const until = Date.now() + 20_000;
    while (Date.now() < until && smallest >= cpu.threads) {
      const y = await model.forward(x).data();
      t.true(maxRelError(Array.from(y), Array.from(expected)) < 1e-5);
      smallest = Math.min(smallest, backends().cpu.activeThreads);
    }
    t.true(smallest < cpu.threads, `the team stayed at ${cpu.threads} next to a busy process`);
    t.true(smallest >= 1);
    t.true(backends().cpu.adaptiveThreads);
  } finally {
    hog.kill('SIGKILL');
    x.dispose();
    model.dispose();
  }
});

test.serial('setNumThreads sets the threads of the CPU backend; results do not depend on them', async (t) => {
  const before = getNumThreads();
  t.true(before >= 1);
  t.is(backends().cpu.threads, before);
  const model = createModel('seresnext26_32x4d', { device: 'cpu', numClasses: 10, inChannels: 3, stem: 'cifar', seed: 5 });
  model.eval();
  const x = randn([2, 16, 16, 3], { seed: 6 });
  try {
    const many = await model.forward(x).data();
    setNumThreads(1);
    t.is(getNumThreads(), 1);
    t.like(backends().cpu, { threads: 1, activeThreads: 1, adaptiveThreads: false });
    const one = await model.forward(x).data();
    t.true(maxRelError(Array.from(one), Array.from(many)) < 1e-5);
    t.throws(() => setNumThreads(0), { code: 'SENET_ARGUMENT' });
    t.throws(() => setNumThreads(1.5), { code: 'SENET_ARGUMENT' });
  } finally {
    setNumThreads(before);
    x.dispose();
    model.dispose();
  }
  t.is(getNumThreads(), before);
  t.like(backends().cpu, { threads: before, adaptiveThreads: false });
});

serialTeamTest('resetNumThreads returns to the default team, which adapts again', true, async (t) => {
  const cpu = backends().cpu;
  setNumThreads(1);
  t.like(backends().cpu, { threads: 1, adaptiveThreads: false });
  resetNumThreads();
  const x = randn([4], { seed: 1 });
  await x.data(); // the reset is applied on the executor, in queue order
  x.dispose();
  // The whole default team at once; it may shrink only after two 200 ms windows of work.
  t.like(backends().cpu, { threads: cpu.threads, activeThreads: cpu.threads, adaptiveThreads: true });
});

serialTeamTest('setNumThreads(1) applies to the shapes already computed with more threads', false, async (t) => {
  const before = getNumThreads();
  const model = createModel('seresnext26_32x4d', { device: 'cpu', numClasses: 10, inChannels: 3, stem: 'cifar', seed: 5 });
  const x = randn([16, 32, 32, 3], { seed: 6 });
  try {
    await model.forward(x).data(); // oneDNN primitives made for `before` threads
    setNumThreads(1);
    await model.forward(x).data();
    // One thread computes: the process cannot use much more CPU time than wall time (it used
    // `before` times as much when cached primitives kept their team).
    const cpu0 = process.cpuUsage();
    const wall0 = process.hrtime.bigint();
    for (let i = 0; i < 4; i++) await model.forward(x).data();
    const wall = Number(process.hrtime.bigint() - wall0) / 1e3;
    const used = process.cpuUsage(cpu0);
    const ratio = (used.user + used.system) / wall;
    t.true(ratio < 1.4, `CPU time / wall time ${ratio.toFixed(2)} with one thread`);
  } finally {
    setNumThreads(before);
    x.dispose();
    model.dispose();
  }
});

test('a chosen size, OMP_NUM_THREADS or SENET_ADAPTIVE_THREADS=0 keep the team fixed', (t) => {
  const plain = childReport({ OMP_NUM_THREADS: undefined, SENET_ADAPTIVE_THREADS: undefined });
  t.true(plain.threads >= 1);
  t.true(plain.cpuQuota === null || plain.threads <= plain.cpuQuota);
  t.true(plain.activeThreads >= 1 && plain.activeThreads <= plain.threads);
  t.is(plain.adaptiveThreads, process.platform === 'linux'); // it reads /proc/stat
  t.like(childReport({ OMP_NUM_THREADS: '1', SENET_ADAPTIVE_THREADS: undefined }), { threads: 1, activeThreads: 1, adaptiveThreads: false });
  const off = childReport({ OMP_NUM_THREADS: undefined, SENET_ADAPTIVE_THREADS: '0' });
  t.like(off, { threads: plain.threads, activeThreads: plain.threads, adaptiveThreads: false });
});

const quota = quotaCgroup();
const quotaTitle = 'a cgroup CPU quota of one core caps the default team at one thread; a chosen size is kept';
if ('why' in quota) {
  test.skip(`${quotaTitle} [skipped: ${quota.why}]`, () => {});
} else {
  test(quotaTitle, (t) => {
    try {
      t.like(childReport({ OMP_NUM_THREADS: undefined, SENET_ADAPTIVE_THREADS: undefined }, quota.dir), { threads: 1, activeThreads: 1, cpuQuota: 1 });
      t.like(childReport({ OMP_NUM_THREADS: '2', SENET_ADAPTIVE_THREADS: undefined }, quota.dir), { threads: 2, cpuQuota: 1, adaptiveThreads: false });
    } finally {
      fs.rmdirSync(quota.dir); // its processes have exited
    }
  });
}
