import test from 'ava';
import { createModel, memory, ops, randn, SGD, synchronize, tensor } from '../../lib';
import { SEResNeXt } from '../../lib/nn/seresnext';
import { GradientPool } from '../../lib/nn/gradient_pool';
import { TINY } from '../train/tiny';

test('the gradient pool hands a given-back buffer out again, refuses a second give, and frees unused shapes after a pass', (t) => {
  const pool = new GradientPool('cpu');
  const a = pool.take([4, 3, 3, 8], 'float32');
  const b = pool.take([4, 3, 3, 8], 'float32');
  t.not(a, b);
  t.is(pool.outstanding, 2);
  pool.give(a);
  t.throws(() => pool.give(a), { message: /not a buffer taken from this pool/ }, 'a buffer given back twice would be handed out twice');
  t.is(pool.take([4, 3, 3, 8], 'float32'), a, 'a free buffer of the shape and type is reused');
  t.not(pool.take([4, 3, 3, 8], 'bfloat16'), a, 'another type is another buffer');
  pool.endPass();
  t.is(pool.outstanding, 0, 'a pass that ended part-way gives back what it held');
  const other = pool.take([4, 5, 5, 8], 'float32');
  pool.give(other);
  pool.endPass();
  t.true(a.disposed && b.disposed, 'shapes the last pass did not use are freed');
  t.false(other.disposed, 'the shapes it used are kept');
  t.throws(() => pool.give(tensor(new Float32Array(1), [1])), { message: /not a buffer taken/ });
  pool.dispose();
  t.true(other.disposed);
});

// The pool keeps a few gradient buffers of each shape instead of one per layer: repeated steps
// allocate nothing new, and after a step of another batch or image size (or a failed backward)
// the model holds what it held before.
test.serial('training steps share gradient buffers: no growth step to step, after other sizes, or after a failed backward', (t) => {
  const m = createModel(TINY, { device: 'cpu', seed: 1 });
  const step = (n: number, size = 16) => {
    const x = randn([n, size, size, 1], { seed: n });
    const logits = m.logits(x);
    const y = tensor(Int32Array.from({ length: n }, (_, i) => i % TINY.numClasses), [n]);
    const d = ops.crossEntropyBackward(logits, y);
    m.backward(d);
    for (const u of [x, y, d]) u.dispose();
    synchronize(); // disposal frees after the queued work: count once it has run
  };
  step(8);
  const after1 = memory();
  step(8);
  const after2 = memory();
  t.is(after2.numTensors, after1.numTensors, 'a second step allocates nothing new');
  t.is(after2.cpuBytes, after1.cpuBytes);
  step(3);
  step(8, 24);
  step(8, 32);
  step(8);
  t.is(memory().cpuBytes, after2.cpuBytes, 'buffers of other batch and image sizes are gone once the first size returns');
  // A backward that fails part-way (a layer without a training-mode forward) leaks nothing.
  const x = randn([8, 16, 16, 1], { seed: 9 });
  const logits = m.logits(x);
  const y = tensor(Int32Array.from({ length: 8 }, (_, i) => i % TINY.numClasses), [8]);
  const d = ops.crossEntropyBackward(logits, y);
  m.eval();
  m.logits(x);
  m.train();
  for (let i = 0; i < 3; i++) t.throws(() => m.backward(d));
  for (const u of [x, y, d]) u.dispose();
  step(8);
  t.is(memory().cpuBytes, after2.cpuBytes, 'failed backward passes hold nothing afterwards');
  m.dispose();
});

// A downsample's output is read once, by its block's SE op: it borrows a buffer of the gradient
// pool (of the block output's shape, which the backward pass uses again) instead of keeping one.
test('downsample outputs borrow gradient-pool buffers and give them back within the forward', (t) => {
  const m = createModel(TINY, { device: 'cpu', seed: 2 });
  const x = randn([2, 16, 16, 1], { seed: 3 });
  const internals = m as unknown as { gradientPool: GradientPool; blocks: { downsample: { y: { peek(): unknown } } | null }[] };
  const downsamples = internals.blocks.map((b) => b.downsample).filter((d) => d !== null);
  t.true(downsamples.length > 0, 'the tiny model has downsample layers');
  for (const training of [true, false]) {
    if (training) m.train();
    else m.eval();
    const before = m.logits(x).toArray() as Float32Array;
    t.is(internals.gradientPool.outstanding, 0, 'every borrowed buffer is back once the forward is queued');
    for (const d of downsamples) t.is(d!.y.peek(), undefined, 'no output buffer of its own');
    // The pool's buffers are overwritten by the backward pass; the next forward gives the same logits.
    if (training) m.backward(ops.crossEntropyBackward(m.logits(x), tensor(Int32Array.of(0, 1), [2])));
    t.deepEqual(Array.from(m.logits(x).toArray() as Float32Array), Array.from(before));
  }
  x.dispose();
  m.dispose();
});

// releaseActivations ($SENET_RELEASE_ACTIVATIONS=1; off by default until measured on a GPU): each
// layer's activations are freed once its backward is queued and the gradient buffers after the
// pass, so memory peaks as PyTorch's does. The same bits as keeping them, and less held between
// steps; one backward per forward.
test.serial('releaseActivations frees activations and gradient buffers after backward, with the same results', (t) => {
  const run = (release: boolean) => {
    const m = new SEResNeXt(TINY, { device: 'cpu', seed: 4, zeroInitLast: false, releaseActivations: release });
    const sgd = new SGD(m, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
    const x = randn([3, 16, 16, 1], { seed: 5 });
    const y = tensor(Int32Array.of(0, 1, 0), [3]);
    const out: number[][] = [];
    let held = 0;
    for (let step = 0; step < 3; step++) {
      const logits = m.logits(x);
      out.push(Array.from(logits.toArray() as Float32Array));
      const d = ops.crossEntropyBackward(logits, y);
      m.backward(d);
      d.dispose();
      sgd.step();
      synchronize();
      held = memory().cpuBytes;
    }
    const grads = [...m.gradients()].map(([, g]) => Array.from(g.data as Float32Array));
    if (release) t.throws(() => m.backward(tensor(new Float32Array(3 * TINY.numClasses), [3, TINY.numClasses])), { code: 'SENET_ARGUMENT' }, 'a second backward for one forward is refused, not computed from freed buffers');
    sgd.dispose();
    m.dispose();
    x.dispose();
    y.dispose();
    synchronize();
    return { out, grads, held: held - memory().cpuBytes };
  };
  const kept = run(false);
  const released = run(true);
  t.deepEqual(released.out, kept.out, 'the same logits step by step');
  t.deepEqual(released.grads, kept.grads, 'the same gradients');
  t.true(released.held < kept.held, `less held between steps (${released.held} < ${kept.held} bytes)`);
});
