import test from 'ava';
import { ops, tensor } from '../../lib';
import { close, disposeAll, f32, random } from '../helpers';
import * as ref from '../reference';

// Distinct values, so that each window has one maximum and float32 keeps the same one.
function distinct(n: number, seed: number): Float64Array {
  const rnd = ref.seededRandom(seed);
  const v = Float64Array.from({ length: n }, (_, i) => (i - n / 2) / 8);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [v[i], v[j]] = [v[j]!, v[i]!];
  }
  return v;
}

const maxCases = [
  { name: 'stem 3x3/2 pad 1, batch 1, 7x9', n: 1, h: 7, w: 9, c: 5, k: 3, s: 2, p: 1 },
  { name: 'stem 3x3/2 pad 1, batch 3, 8x6', n: 3, h: 8, w: 6, c: 3, k: 3, s: 2, p: 1 },
  { name: '2x2/2 no padding, 5x4', n: 2, h: 5, w: 4, c: 4, k: 2, s: 2, p: 0 },
];

for (const c of maxCases) {
  test(`max pool forward and backward match float64: ${c.name}`, (t) => {
    const g: ref.PoolGeom = { n: c.n, h: c.h, w: c.w, c: c.c, kh: c.k, kw: c.k, strideH: c.s, strideW: c.s, padH: c.p, padW: c.p };
    const x = f32(distinct(c.n * c.h * c.w * c.c, 3), [c.n, c.h, c.w, c.c]);
    const opts = { kernel: c.k, stride: c.s, padding: c.p };
    const y = ops.maxPoolForward(x.t, opts);
    const want = ref.maxPoolForward(x.v, g);
    t.deepEqual(y.shape, [c.n, want.ho, want.wo, c.c]);
    close(t, y, want.y, 'y');
    const dy = random(y.shape, 5);
    const dx = ops.maxPoolBackward(dy.t, x.t, y, opts);
    close(t, dx, ref.maxPoolBackward(dy.v, x.v, g), 'dx');
    disposeAll(x, y, dy, dx);
  });
}

test('max pool backward agrees with finite differences of the float64 forward', (t) => {
  const g: ref.PoolGeom = { n: 1, h: 5, w: 4, c: 2, kh: 3, kw: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 };
  const x = f32(distinct(40, 9), [1, 5, 4, 2]);
  const y = ops.maxPoolForward(x.t);
  const r = ref.randomArray(y.size, 10, 1);
  const dx = ops.maxPoolBackward(tensor(Float32Array.from(r), y.shape), x.t, y);
  const fd = ref.numericGradient((v) => ref.dot(ref.maxPoolForward(v, g).y, r), Float64Array.from(x.v), 1e-4);
  close(t, dx, fd, 'dx vs finite differences', 1e-3);
  disposeAll(x, y, dx);
});

test('padding never wins a max: an all-negative input pools to its own values', (t) => {
  const x = f32(Array.from({ length: 2 * 3 * 3 }, (_, i) => -1 - i), [1, 3, 3, 2]);
  const y = ops.maxPoolForward(x.t);
  t.deepEqual(Array.from(y.toArray() as Float32Array), [-1, -2, -3, -4, -7, -8, -9, -10]);
  disposeAll(x, y);
});

for (const c of [
  { n: 1, h: 3, w: 5, c: 7 },
  { n: 3, h: 7, w: 2, c: 9 },
]) {
  test(`global average pool forward and backward match float64: batch ${c.n}, ${c.h}x${c.w}x${c.c}`, (t) => {
    const x = random([c.n, c.h, c.w, c.c], 1);
    const y = ops.globalAvgPoolForward(x.t);
    t.deepEqual(y.shape, [c.n, c.c]);
    close(t, y, ref.globalAvgPoolForward(x.v, c.n, c.h * c.w, c.c), 'y');
    const dy = random([c.n, c.c], 2);
    const dx = ops.globalAvgPoolBackward(dy.t, x.t.shape);
    close(t, dx, ref.globalAvgPoolBackward(dy.v, c.n, c.h * c.w, c.c), 'dx');
    const fd = ref.numericGradient((v) => ref.dot(ref.globalAvgPoolForward(v, c.n, c.h * c.w, c.c), dy.v), Float64Array.from(x.v));
    close(t, dx, fd, 'dx vs finite differences', 1e-3);
    disposeAll(x, y, dy, dx);
  });
}
