import test from 'ava';
import { Worker } from 'node:worker_threads';
import { spawnSync } from 'node:child_process';
import { getNumThreads, setNumThreads } from '../../lib';
import { LIB, TRAIN_WORKER, trainInThisThread, trainInWorker } from './train_in';

// senet loads in worker threads (each has its own bindings; the devices' executors are shared by
// the process) and several threads using the CPU backend at once get correct results.
const lib = LIB;

// Bit-identical results need a fixed team of threads (the default one follows the machine's load).
test.before(() => setNumThreads(getNumThreads()));

const inMainThread = (seed: number, steps: number) => trainInThisThread('cpu', seed, steps);
const inWorker = (seed: number, steps: number) => trainInWorker('cpu', seed, steps);

test.serial('two worker threads train on the CPU backend at once and match the main thread', async (t) => {
  const [a, b] = await Promise.all([inWorker(1, 3), inWorker(2, 3)]);
  const [ea, eb] = [await inMainThread(1, 3), await inMainThread(2, 3)];
  t.is(a.length, 40);
  t.deepEqual(a, ea, 'worker 1 = main thread, bit for bit');
  t.deepEqual(b, eb, 'worker 2 = main thread, bit for bit');
  t.notDeepEqual(a, b);
});

test.serial('a worker terminated in the middle of its work leaves the backend usable', async (t) => {
  const w = new Worker(TRAIN_WORKER, { eval: true, workerData: { lib, device: 'cpu', seed: 3, steps: 1000 } });
  await new Promise((r) => setTimeout(r, 300));
  await w.terminate();
  const after = await inMainThread(4, 1);
  t.true(after.every(Number.isFinite));
  t.deepEqual(await inMainThread(4, 1), after);
});

// Reads in flight and tensor methods called while a worker is torn down: a read's completion
// once called the dead environment's thread-safe function, and a method's `this` failed to
// unwrap with a status node-addon-api rethrew where nothing caught it; both aborted the process
// (about one run in six of this loop on 2 busy cores). In a child, so that an abort is a result.
const READER = `
const { parentPort, workerData } = require('node:worker_threads');
const s = require(workerData.lib);
(async () => {
  const model = s.createModel('seresnext26_32x4d', { device: 'cpu', numClasses: 10, inChannels: 3, stem: 'cifar', seed: 3 });
  const x = s.randn([4, 16, 16, 3], { seed: 103 });
  parentPort.postMessage('ready');
  for (;;) {
    const y = model.forward(x);
    y.view(0, [40]).shape;
    await y.data();
    y.dispose();
  }
})();
`;

test('workers terminated at any moment, with reads in flight, never bring the process down', (t) => {
  const script = `
    const { Worker } = require('node:worker_threads');
    const s = require(${JSON.stringify(lib)});
    (async () => {
      for (const delay of [0, 5, 20, 40, 80, 120, 160, 200, 260, 330, 400, 470]) {
        const w = new Worker(${JSON.stringify(READER)}, { eval: true, workerData: { lib: ${JSON.stringify(lib)} } });
        await new Promise((r) => w.once('message', r));
        await new Promise((r) => setTimeout(r, delay));
        await w.terminate();
        const y = s.randn([3], { seed: 1 });
        await y.data();
        y.dispose();
      }
      process.stdout.write('survived');
    })();`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 240_000 });
  t.is(r.signal, null, `the process was killed by ${r.signal}: ${r.stderr}`);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, 'survived');
});
