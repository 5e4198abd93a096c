import { trainInThisThread, trainInWorker } from '../node/train_in';
import { gpuTest } from './gpu';

// The CUDA backend from Node worker threads: every thread queues onto the one CUDA executor, whose
// thread owns the device, the stream and the library handles (Context::get binds each calling
// thread to the device), so threads never call CUDA at once. cuDNN may pick algorithms that sum
// with atomics, so workers and the main thread agree to rounding, not bit for bit: 1e-3, the
// GPU-against-CPU bound (a race would give garbage, far above it).
gpuTest('two worker threads train on the CUDA backend at once and match the main thread', async (t) => {
  const [a, b] = await Promise.all([trainInWorker('cuda', 1, 3), trainInWorker('cuda', 2, 3)]);
  const [ea, eb] = [await trainInThisThread('cuda', 1, 3), await trainInThisThread('cuda', 2, 3)];
  const rel = (x: number[], y: number[]) => {
    let num = 0, den = 0;
    for (let i = 0; i < x.length; i++) {
      num += (x[i]! - y[i]!) ** 2;
      den += y[i]! ** 2;
    }
    return Math.sqrt(num / den);
  };
  t.is(a.length, 40);
  t.true(rel(a, ea) < 1e-3, `worker 1 against the main thread: relative L2 ${rel(a, ea).toExponential(2)}`);
  t.true(rel(b, eb) < 1e-3, `worker 2 against the main thread: relative L2 ${rel(b, eb).toExponential(2)}`);
  t.true(rel(a, b) > 1e-3, 'different seeds give different models');
  // And the CPU agrees with the GPU on the same training.
  const cpu = await trainInThisThread('cpu', 1, 3);
  t.true(rel(ea, cpu) < 1e-3, `GPU against CPU: relative L2 ${rel(ea, cpu).toExponential(2)}`);
});

