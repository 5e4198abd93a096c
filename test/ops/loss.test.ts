import test from 'ava';
import { ops, tensor } from '../../lib';
import { close, disposeAll, random } from '../helpers';
import * as ref from '../reference';

for (const c of [
  { name: 'batch 1, 3 classes', n: 1, k: 3, smoothing: 0, dtype: 'int64' as const },
  { name: 'batch 5, 10 classes, int32 labels', n: 5, k: 10, smoothing: 0, dtype: 'int32' as const },
  { name: 'batch 7, 10 classes, label smoothing 0.1', n: 7, k: 10, smoothing: 0.1, dtype: 'int64' as const },
]) {
  test(`cross-entropy forward, correct count and backward match float64: ${c.name}`, (t) => {
    const logits = random([c.n, c.k], 1, 3);
    const labelValues = Array.from({ length: c.n }, (_, i) => (i * 7 + 3) % c.k);
    const labels = c.dtype === 'int64' ? tensor(BigInt64Array.from(labelValues.map(BigInt))) : tensor(Int32Array.from(labelValues));
    const opts = { labelSmoothing: c.smoothing };
    const out = ops.crossEntropyForward(logits.t, labels, opts);
    const want = ref.crossEntropyForward(logits.v, c.n, c.k, labelValues, c.smoothing);
    t.deepEqual(out.loss.shape, []);
    close(t, out.loss.toArray() as Float32Array, [want.loss], 'loss');
    t.is((out.correct.toArray() as Int32Array)[0], want.correct);
    const d = ops.crossEntropyBackward(logits.t, labels, opts);
    const wantD = ref.crossEntropyBackward(logits.v, c.n, c.k, labelValues, c.smoothing);
    close(t, d, wantD, 'dlogits');
    const fd = ref.numericGradient((v) => ref.crossEntropyForward(v, c.n, c.k, labelValues, c.smoothing).loss, Float64Array.from(logits.v));
    close(t, d, fd, 'dlogits vs finite differences', 1e-3);
    disposeAll(logits, labels, out, d);
  });
}

test('cross-entropy of large logits stays finite', (t) => {
  const logits = tensor(Float32Array.from([1000, -1000, 0, 999]), [2, 2]);
  const labels = tensor(BigInt64Array.from([1n, 0n]));
  const { loss, correct } = ops.crossEntropyForward(logits, labels);
  close(t, loss.toArray() as Float32Array, [(2000 + 999) / 2], 'loss');
  t.is((correct.toArray() as Int32Array)[0], 0);
  disposeAll(logits, labels, loss, correct);
});
