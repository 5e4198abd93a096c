/**
 * Shared by the bf16 op tests: bf16 tensors of rounded random values with the float64 values they
 * hold, reading bf16 results, and the tolerances (see ROUNDED / TWICE).
 */
import test, { type ExecutionContext } from 'ava';
import { backends, ops, tensor, type Device, type Tensor } from '../../lib';
import { type Pair } from '../helpers';
import * as ref from '../reference';

const report = backends();

/**
 * A test of bf16 arithmetic on `device`: on the CPU it needs bf16 instructions, on CUDA a usable
 * GPU; skipped with the reason where either is missing.
 */
export function bf16Test(title: string, fn: (t: ExecutionContext) => void, device: Device = 'cpu'): void {
  const ok = device === 'cpu' ? report.cpu.bf16.supported : report.cuda.available;
  const reason = device === 'cpu' ? report.cpu.bf16.reason : report.cuda.reason;
  if (ok) test(title, fn);
  else test.skip(`${title} [skipped: ${reason}]`, fn);
}

/** float -> bfloat16 bits, round to nearest even (what torch.bfloat16 and senet do). */
export function bf16Bits(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The float value of bfloat16 bits. */
export function bitsValue(b: number): number {
  return new Float32Array(new Uint32Array([b << 16]).buffer)[0]!;
}

/** A bf16 tensor of uniform values in [-scale, scale), and the float64 values it holds. */
export function randomBf16(shape: readonly number[], seed: number, scale = 1, device: Device = 'cpu'): Pair {
  const n = shape.reduce((a, b) => a * b, 1);
  const bits = Uint16Array.from(ref.randomArray(n, seed, scale), bf16Bits);
  return { t: tensor(bits, shape, { device }), v: Float64Array.from(bits, bitsValue) };
}

/** A tensor's values as float64 (bf16 through ops.cast). */
export function values(t: Tensor): Float64Array {
  if (t.dtype !== 'bfloat16') return Float64Array.from(t.toArray() as Float32Array);
  const f = ops.cast(t, 'float32');
  try {
    return Float64Array.from(f.toArray() as Float32Array);
  } finally {
    f.dispose();
  }
}

/**
 * Asserts the relative L2 error of `actual` against the float64 reference is at most `tol`, and
 * that it has the dtype expected.
 */
export function near(t: ExecutionContext, actual: Tensor, expected: ArrayLike<number>, label: string, tol: number, dtype: 'bfloat16' | 'float32'): void {
  t.is(actual.dtype, dtype, `${label}: dtype`);
  const err = ref.relL2Error(values(actual), expected);
  t.true(err <= tol, `${label}: relative L2 error ${err.toExponential(2)} > ${tol}`);
  t.log(`${label}: ${err.toExponential(2)}`);
}

// One bf16 rounding is at most 2^-9 = 2e-3 relative, 1.1e-3 in L2 over many uniform values (1.4e-3
// to 1.8e-3 measured here on these shapes). Outputs that are the rounding of a float32 result get
// 3e-3; dx and dw, behind a second rounding (the bf16 gradient at the convolution's output, where
// batch norm's backward subtracts its sums), 6e-3 (2.1e-3 to 2.7e-3 measured).
export const ROUNDED = 3e-3;
export const TWICE = 6e-3;
