import test from 'ava';
import { createModel, memory, ops, randn, synchronize, tensor } from '../../lib';
import { GradientPool } from '../../lib/nn/gradient_pool';
import { TINY } from '../train/tiny';

test('the gradient pool hands a given-back buffer out again, and frees other batch sizes between passes', (t) => {
  const pool = new GradientPool('cpu');
  const a = pool.take([4, 3, 3, 8], 'float32');
  const b = pool.take([4, 3, 3, 8], 'float32');
  t.not(a, b);
  t.is(pool.outstanding, 2);
  pool.give(a);
  t.is(pool.take([4, 3, 3, 8], 'float32'), a, 'a free buffer of the shape and type is reused');
  t.not(pool.take([4, 3, 3, 8], 'bfloat16'), a, 'another type is another buffer');
  const small = pool.take([2, 3, 3, 8], 'float32');
  pool.give(small);
  pool.keepBatch(4);
  t.true(small.disposed, 'a free buffer of another batch size is freed');
  t.false(a.disposed, 'a buffer taken is kept');
  t.throws(() => pool.give(tensor(new Float32Array(1), [1])), { message: /not a buffer of this pool/ });
  pool.dispose();
  t.true(a.disposed && b.disposed);
});

// The pool keeps a few gradient buffers of each shape instead of one per layer: a training step
// holds less than the activations it keeps for backward, and repeated steps (with an odd last
// batch between them) allocate nothing new.
test.serial('training steps share gradient buffers: no growth from step to step or after a smaller batch', (t) => {
  const m = createModel(TINY, { device: 'cpu', seed: 1 });
  const step = (n: number) => {
    const x = randn([n, 16, 16, 1], { seed: n });
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
  step(8);
  const after3 = memory();
  t.is(after3.cpuBytes, after2.cpuBytes, 'the smaller batch\'s buffers are gone once a full batch returns');
  m.dispose();
});
