/**
 * A few training steps of a small SE-ResNeXt, in a worker thread or in the calling thread, on a
 * given device: the logits after them, to compare threads (test/node/workers.test.ts,
 * test/cuda/workers.test.ts).
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { createModel, randn, SGD, tensor, ops, type Device } from '../../lib';

/** The compiled library, for worker scripts. */
export const LIB = path.join(__dirname, '..', '..', 'lib', 'index.js');

/** The worker's script (workerData: lib, device, seed, steps); it posts the logits or { error }. */
export const TRAIN_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const s = require(workerData.lib);
(async () => {
  const device = workerData.device;
  const model = s.createModel('seresnext26_32x4d', { device, numClasses: 10, inChannels: 3, stem: 'cifar', seed: workerData.seed });
  const sgd = new s.SGD(model, { lr: 0.05, momentum: 0.9 });
  const x = s.randn([4, 16, 16, 3], { seed: workerData.seed + 100, device });
  const labels = s.tensor(Int32Array.from([1, 2, 3, 4]), [4], { device });
  for (let i = 0; i < workerData.steps; i++) {
    const logits = model.logits(x);
    s.ops.crossEntropyForward(logits, labels);
    model.backward(s.ops.crossEntropyBackward(logits, labels));
    sgd.step();
  }
  model.eval();
  const out = await model.forward(x).data();
  parentPort.postMessage(Array.from(out));
})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
`;

/** The logits after `steps` steps, trained in the calling thread. */
export async function trainInThisThread(device: Device, seed: number, steps: number): Promise<number[]> {
  const model = createModel('seresnext26_32x4d', { device, numClasses: 10, inChannels: 3, stem: 'cifar', seed });
  const sgd = new SGD(model, { lr: 0.05, momentum: 0.9 });
  const x = randn([4, 16, 16, 3], { seed: seed + 100, device });
  const labels = tensor(Int32Array.from([1, 2, 3, 4]), [4], { device });
  try {
    for (let i = 0; i < steps; i++) {
      const logits = model.logits(x);
      ops.crossEntropyForward(logits, labels);
      model.backward(ops.crossEntropyBackward(logits, labels));
      sgd.step();
    }
    model.eval();
    return Array.from(await model.forward(x).data());
  } finally {
    model.dispose();
    sgd.dispose();
    x.dispose();
    labels.dispose();
  }
}

/** The same in a new worker thread. */
export function trainInWorker(device: Device, seed: number, steps: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const w = new Worker(TRAIN_WORKER, { eval: true, workerData: { lib: LIB, device, seed, steps } });
    w.once('message', (m: number[] | { error: string }) => {
      void w.terminate();
      if (Array.isArray(m)) resolve(m);
      else reject(new Error(m.error));
    });
    w.once('error', reject);
  });
}
