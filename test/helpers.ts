/**
 * Shared by the tests: float32 tensors made from float64 data (and the float64 copy of exactly
 * what the tensor holds), and closeness assertions with readable failures.
 */
import type { ExecutionContext } from 'ava';
import { tensor, type Device, type Tensor } from '../lib';
import { maxRelError, randomArray } from './reference';

/** Relative tolerance of float32 results against a float64 reference. */
export const F32_TOL = 1e-4;

/** A float32 tensor and the float64 values it actually holds (after rounding to float32). */
export interface Pair {
  t: Tensor;
  v: Float64Array;
}

/** A float32 tensor of `data` with `shape`. */
export function f32(data: ArrayLike<number>, shape: readonly number[], device: Device = 'cpu'): Pair {
  const a = Float32Array.from(data);
  return { t: tensor(a, shape, { device }), v: Float64Array.from(a) };
}

/** A float32 tensor of uniform values in [-scale, scale). */
export function random(shape: readonly number[], seed: number, scale = 1, device: Device = 'cpu'): Pair {
  const n = shape.reduce((a, b) => a * b, 1);
  return f32(randomArray(n, seed, scale), shape, device);
}

/** Asserts max|a − e| / max|e| ≤ tol, naming what was compared. */
export function close(t: ExecutionContext, actual: Tensor | ArrayLike<number>, expected: ArrayLike<number>, label: string, tol = F32_TOL): void {
  const a = isTensor(actual) ? Array.from(actual.toArray() as Float32Array) : actual;
  const err = maxRelError(a, expected);
  t.true(err <= tol, `${label}: relative error ${err.toExponential(3)} > ${tol}`);
}

function isTensor(x: unknown): x is Tensor {
  return typeof x === 'object' && x !== null && 'native' in x && 'shape' in x;
}

/** Disposes every tensor in an object or array (test outputs). */
export function disposeAll(...things: unknown[]): void {
  for (const thing of things) {
    if (thing === null || thing === undefined) continue;
    if (isTensor(thing)) thing.dispose();
    else if (typeof thing === 'object') for (const v of Object.values(thing)) if (isTensor(v)) v.dispose();
  }
}

/** The error code a call throws (undefined if it does not throw). */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}
