/**
 * Numeric precision of a model's arithmetic:
 *
 * - `'fp32'`: float32 everywhere (the default of the API; bit for bit what senet always computed).
 * - `'tf32'`: float32 tensors, with TF32 tensor-core math allowed in the GPU's convolutions and
 *   matrix products (PyTorch's default for convolutions on Ampere and later); on the CPU the same
 *   as `'fp32'`.
 * - `'bf16'`: mixed precision as PyTorch's bf16 autocast: convolutions read bfloat16 activations
 *   and a bfloat16 copy of their weights and accumulate in float32; activations are stored in
 *   bfloat16; batch-norm statistics and affine, the SE gate's arithmetic, pooled features, the
 *   classifier, the loss and softmax stay float32; the master weights, their gradients and SGD are
 *   float32 (SGD rewrites the bf16 weight copy in the same pass). No loss scaling is needed. Runs on
 *   a CPU with bf16 instructions (avx512_core_bf16 or AMX), refused on other CPUs
 *   (SENET_UNSUPPORTED); on the GPU (every GPU senet supports, compute capability 8.0 and later,
 *   has bf16 tensor cores) with cuDNN's bf16 convolutions and senet's bf16 kernels. The GPU path
 *   passed its tests on an H200 (2026-12-01; see the README).
 */
import { binding } from './binding';
import { SenetError } from './errors';
import type { Device } from './tensor';
import { checkOneOf } from './validate';

/** A model's precision; see the module's description. */
export type Precision = 'fp32' | 'tf32' | 'bf16';

/** Every precision, in the order options list them. */
export const PRECISIONS: readonly Precision[] = ['fp32', 'tf32', 'bf16'];

/** The precision named by `value`, or a SENET_ARGUMENT error naming the choices. */
export function checkPrecision(where: string, value: unknown): Precision {
  return checkOneOf(where, 'precision', value, PRECISIONS);
}

/** Whether `precision` can run on `device` here, and why not. */
export function precisionSupport(device: Device, precision: Precision): { supported: boolean; reason: string } {
  if (precision !== 'bf16' || device === 'cuda') return { supported: true, reason: '' };
  const b = binding.buildInfo();
  return b.cpuBf16 ? { supported: true, reason: '' } : { supported: false, reason: b.cpuBf16Reason };
}

/** Throws SENET_UNSUPPORTED (naming what is missing) when `precision` cannot run on `device`. */
export function requirePrecision(where: string, device: Device, precision: Precision): void {
  const s = precisionSupport(device, precision);
  if (!s.supported) throw new SenetError('SENET_UNSUPPORTED', `${where}: precision 'bf16' on ${device}: ${s.reason}`);
}

/**
 * The precision `senet train` uses when none is asked: 'bf16' on a CPU with fast bf16
 * (avx512_core_bf16 or AMX), else 'fp32'. Measured on a 2-core Xeon with AMX (2026-11-30), bf16
 * trained the default network on 28x28 Fashion-MNIST at 1.1-1.3x float32's speed, at 64x64 1.16x,
 * and SE-ResNeXt-50 at 224x224 1.7-1.9x. On the GPU it is 'bf16' (every GPU senet supports has
 * bf16 tensor cores): on an H200 (2026-12-01) SE-ResNeXt-50 at 224x224 batch 256 trained 14x faster
 * in bf16 than in float32 with TF32 off.
 */
export function defaultTrainingPrecision(device: Device): Precision {
  if (device === 'cuda') return 'bf16';
  return precisionSupport(device, 'bf16').supported ? 'bf16' : 'fp32';
}
