/**
 * Every op in mixed precision (bfloat16 activations) against the float64 reference computed on
 * the same bf16-rounded inputs, so that the tolerance measures what the op adds (float32
 * accumulation, and rounding its own bf16 outputs: at most 2^-9 relative per element), not the
 * rounding of its inputs. Odd shapes, as the float32 tests use.
 */
import test from 'ava';
import { ops, tensor } from '../../lib';
import { disposeAll, random } from '../helpers';
import * as ref from '../reference';
import { bf16Bits, bf16Test, bitsValue, convCaseTests, near, randomBf16, ROUNDED } from './bf16_support';

// The convolutions with the default bf16 kernels; bf16_kernels_*.test.ts run them with float32
// kernels on converted copies and with the choice made by timing.
convCaseTests('bf16 kernels');

bf16Test('bf16 SE block (with the residual add and ReLU) forward and backward match float64 on rounded inputs', (t) => {
  const [n, h, w, c, r] = [3, 5, 3, 40, 8] as const;
  const u = randomBf16([n, h, w, c], 21), sc = randomBf16([n, h, w, c], 22);
  const w1 = random([r, c], 23, 0.3), b1 = random([r], 24, 0.1), w2 = random([c, r], 25, 0.3), b2 = random([c], 26, 0.1);
  const fwd = ops.seForward(u.t, { w1: w1.t, b1: b1.t, w2: w2.t, b2: b2.t }, sc.t);
  const e = ref.seForward(u.v, n, h * w, c, w1.v, b1.v, w2.v, b2.v, sc.v);
  near(t, fwd.y, e.y, 'y', ROUNDED, 'bfloat16');
  near(t, fwd.pooled, e.pooled, 'pooled', 1e-5, 'float32');
  near(t, fwd.gate, e.gate, 'gate', 1e-5, 'float32');
  const dy = randomBf16([n, h, w, c], 27);
  const g = ops.seBackward(dy.t, { u: u.t, pooled: fwd.pooled, hidden: fwd.hidden, gate: fwd.gate, residual: true, y: fwd.y }, { w1: w1.t, w2: w2.t });
  const eb = ref.seBackward(dy.v, u.v, n, h * w, c, w1.v, b1.v, w2.v, b2.v, sc.v);
  near(t, g.du, eb.du, 'du', ROUNDED, 'bfloat16');
  near(t, g.dshortcut!, eb.dshortcut!, 'dshortcut', ROUNDED, 'bfloat16');
  near(t, g.dw1, eb.dw1, 'dw1', 1e-4, 'float32');
  near(t, g.dw2, eb.dw2, 'dw2', 1e-4, 'float32');
  disposeAll(u, sc, w1, b1, w2, b2, fwd, dy, g);
});

bf16Test('bf16 max pooling and global average pooling match float64 on rounded inputs', (t) => {
  const geom: ref.PoolGeom = { n: 2, h: 9, w: 7, c: 5, kh: 3, kw: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 };
  const x = randomBf16([2, 9, 7, 5], 31);
  const y = ops.maxPoolForward(x.t);
  near(t, y, ref.maxPoolForward(x.v, geom).y, 'max pool y', 0, 'bfloat16'); // a max of bf16 values is exact
  const dy = randomBf16(y.shape, 32);
  // Overlapping windows sum into one dx element, rounded once.
  near(t, ops.maxPoolBackward(dy.t, x.t, y), ref.maxPoolBackward(dy.v, x.v, geom), 'max pool dx', ROUNDED, 'bfloat16');
  const gap = ops.globalAvgPoolForward(x.t);
  near(t, gap, ref.globalAvgPoolForward(x.v, 2, 63, 5), 'global average (float32 features)', 1e-6, 'float32');
  const dg = random([2, 5], 33);
  const dx = ops.globalAvgPoolBackward(dg.t, x.t.shape, undefined, { dtype: 'bfloat16' });
  near(t, dx, ref.globalAvgPoolBackward(dg.v, 2, 63, 5), 'global average dx', ROUNDED, 'bfloat16');
  disposeAll(x, y, dy, gap, dg, dx);
});

bf16Test('bf16 add sums in float32 and rounds once', (t) => {
  const a = randomBf16([3, 7, 11], 41), b = randomBf16([3, 7, 11], 42);
  const sum = ops.add(a.t, b.t);
  const bits = sum.toArray() as Uint16Array;
  t.is(sum.dtype, 'bfloat16');
  t.true(bits.every((v, i) => v === bf16Bits(Math.fround(a.v[i]! + b.v[i]!))), 'each sum is the bf16 rounding of the float32 sum');
  disposeAll(a, b, sum);
});

test('cast rounds to nearest even as torch.bfloat16 does, keeps NaN and infinities, and round-trips', (t) => {
  const v = new Float32Array([0, -0, 1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -9, 3.3e38, -Infinity, Infinity, NaN, 1e-40, 65504.7, -2.5e-3]);
  const x = tensor(v, [v.length]);
  const h = ops.cast(x, 'bfloat16');
  const bits = h.toArray() as Uint16Array;
  t.deepEqual(Array.from(bits), Array.from(v, bf16Bits));
  // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1).
  t.is(bits[3], 0x3f80);
  t.is(bits[4], 0x3f82);
  t.true(Number.isNaN(bitsValue(bits[9]!)));
  const back = ops.cast(h, 'float32').toArray() as Float32Array;
  t.deepEqual(Array.from(back).slice(0, 9), Array.from(bits.slice(0, 9), bitsValue));
  const twice = ops.cast(ops.cast(h, 'float32'), 'bfloat16').toArray() as Uint16Array;
  t.deepEqual(Array.from(twice), Array.from(bits));
  disposeAll(x, h);
});

test('bf16 tensors: Uint16Array in and out, and clear errors for the wrong element type', (t) => {
  const bits = Uint16Array.from([0x3f80, 0x4000, 0xbf80]);
  const h = tensor(bits, [3]);
  t.is(h.dtype, 'bfloat16');
  t.deepEqual(Array.from(h.toArray() as Uint16Array), Array.from(bits));
  const err = t.throws(() => h.set(new Float32Array(3) as unknown as Uint16Array)) as { code?: string };
  t.is(err.code, 'SENET_DTYPE');
  const f = tensor(new Float32Array(3), [3]);
  const w = tensor(new Float32Array(3 * 3 * 3), [3, 1, 3, 3]);
  // A bf16 map with float32 weights: the convolution needs the bf16 copy of its weights.
  const x = ops.cast(tensor(new Float32Array(2 * 4 * 4 * 3), [2, 4, 4, 3]), 'bfloat16');
  const e2 = t.throws(() => ops.convBnForward({ x, w, gamma: f, beta: f, runningMean: f, runningVar: f }, { padding: 1, groups: 3 })) as { code?: string; message?: string };
  t.is(e2.code, 'SENET_DTYPE');
  t.regex(e2.message ?? '', /w: expected dtype bfloat16, received float32/);
  disposeAll(h, f, w, x);
});

bf16Test('SGD rewrites the bf16 weight copy from the updated float32 weights in the same pass', (t) => {
  const p = random([37], 51), g = random([37], 52), m = random([37], 53);
  const copy = ops.cast(p.t, 'bfloat16');
  ops.sgdStep(p.t, g.t, m.t, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4, firstStep: false, paramCopy: copy });
  const updated = p.t.toArray() as Float32Array;
  t.deepEqual(Array.from(copy.toArray() as Uint16Array), Array.from(updated, bf16Bits));
  // A skipped step leaves both untouched.
  const skip = tensor(new Int32Array([1]), []);
  const before = Array.from(copy.toArray() as Uint16Array);
  ops.sgdStep(p.t, g.t, m.t, { lr: 0.1, momentum: 0.9, skipIf: skip, paramCopy: copy });
  t.deepEqual(Array.from(copy.toArray() as Uint16Array), before);
  t.deepEqual(Array.from(p.t.toArray() as Float32Array), Array.from(updated));
  disposeAll(p, g, m, copy, skip);
});
