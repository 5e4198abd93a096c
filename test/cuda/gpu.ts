/**
 * For the CUDA tests: whether this machine can run them, and inputs placed on both backends.
 */
import test, { type ExecutionContext } from 'ava';
import { backends, tensor, type Tensor } from '../../lib';
import { randomArray } from '../reference';

const report = backends().cuda;

/** True when the CUDA backend is fully available here. */
export const hasGpu = report.available;

/** Registers a test that needs the GPU; without one it is skipped with the reason in its title. */
export function gpuTest(title: string, fn: (t: ExecutionContext) => void | Promise<void>): void {
  if (hasGpu) test(title, fn);
  else test.skip(`${title} [skipped: ${report.reason}]`, fn);
}

/** The same float32 values on the CPU and on the GPU. */
export interface OnBoth {
  cpu: Tensor;
  gpu: Tensor;
  values: Float32Array;
}

/** Places a typed array on both backends. */
export function onBoth(values: Float32Array, shape: readonly number[]): OnBoth {
  return { cpu: tensor(values, shape), gpu: tensor(values, shape, { device: 'cuda' }), values };
}

/** Uniform values in [-scale, scale) on both backends. */
export function randomBoth(shape: readonly number[], seed: number, scale = 1): OnBoth {
  const n = shape.reduce((a, b) => a * b, 1);
  return onBoth(Float32Array.from(randomArray(n, seed, scale)), shape);
}

/** Disposes both copies of each. */
export function disposeBoth(...items: (OnBoth | null | undefined)[]): void {
  for (const i of items) {
    i?.cpu.dispose();
    i?.gpu.dispose();
  }
}
