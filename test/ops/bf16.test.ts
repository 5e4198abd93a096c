/**
 * Every op in mixed precision (bfloat16 activations) against the float64 reference computed on
 * the same bf16-rounded inputs, so that the tolerance measures what the op adds (float32
 * accumulation, and rounding its own bf16 outputs: at most 2^-9 relative per element), not the
 * rounding of its inputs. Odd shapes, as the float32 tests use.
 */
import test from 'ava';
import { ops, tensor } from '../../lib';
import { disposeAll } from '../helpers';
import { convCaseTests, opCaseTests } from './bf16_cases';
import { bf16Bits, bitsValue } from './bf16_support';

// The convolutions with the default bf16 kernels; bf16_kernels_*.test.ts run them with float32
// kernels on converted copies and with the choice made by timing.
convCaseTests('bf16 kernels');
opCaseTests();

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

