/**
 * Shared by the bf16 op tests: bf16 tensors of rounded random values with the float64 values they
 * hold, reading bf16 results, and the tolerances (see ROUNDED / TWICE).
 */
import test, { type ExecutionContext } from 'ava';
import { backends, ops, tensor, type Tensor } from '../../lib';
import { disposeAll, random, type Pair } from '../helpers';
import * as ref from '../reference';

const support = backends().cpu.bf16;

/** A test that needs bf16 instructions; skipped with the reason where the CPU has none. */
export function bf16Test(title: string, fn: (t: ExecutionContext) => void): void {
  if (support.supported) test(title, fn);
  else test.skip(`${title} [skipped: ${support.reason}]`, fn);
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
export function randomBf16(shape: readonly number[], seed: number, scale = 1): Pair {
  const n = shape.reduce((a, b) => a * b, 1);
  const bits = Uint16Array.from(ref.randomArray(n, seed, scale), bf16Bits);
  return { t: tensor(bits, shape), v: Float64Array.from(bits, bitsValue) };
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

interface ConvCase {
  name: string;
  n: number; h: number; w: number; cin: number; cout: number;
  k: number; stride: number; pad: number; groups: number; relu: boolean;
}

const convCases: ConvCase[] = [
  { name: '3x3 stride 2, 4 groups, batch 3', n: 3, h: 6, w: 5, cin: 12, cout: 20, k: 3, stride: 2, pad: 1, groups: 4, relu: true },
  { name: '3x3, 32 groups of 2', n: 2, h: 5, w: 4, cin: 64, cout: 64, k: 3, stride: 1, pad: 1, groups: 32, relu: true },
  { name: '1x1 stride 1, no ReLU', n: 2, h: 7, w: 5, cin: 24, cout: 40, k: 1, stride: 1, pad: 0, groups: 1, relu: false },
  { name: '1x1 stride 2 (downsample)', n: 2, h: 8, w: 6, cin: 16, cout: 32, k: 1, stride: 2, pad: 0, groups: 1, relu: false },
  { name: '7x7 stride 2 pad 3 (stem), 3 channels in', n: 2, h: 11, w: 9, cin: 3, cout: 16, k: 7, stride: 2, pad: 3, groups: 1, relu: true },
];

/**
 * The convolution cases, each training (forward and backward) and inference, titled with `kernels`
 * (which of mixed precision's kernels the process uses: SENET_BF16_KERNELS).
 */
export function convCaseTests(kernels: string): void {
  for (const c of convCases) {
  bf16Test(`bf16 convBn (${kernels}) training forward and backward match float64 on rounded inputs: ${c.name}`, (t) => {
    const g: ref.ConvGeom = { n: c.n, h: c.h, w: c.w, cin: c.cin, cout: c.cout, kh: c.k, kw: c.k, strideH: c.stride, strideW: c.stride, padH: c.pad, padW: c.pad, groups: c.groups };
    const x = randomBf16([c.n, c.h, c.w, c.cin], 1);
    const w = randomBf16([c.cout, c.k, c.k, c.cin / c.groups], 2, 0.5);
    const gamma = random([c.cout], 3), beta = random([c.cout], 4, 0.5);
    const rm = random([c.cout], 5, 0.2), rv = random([c.cout], 6, 0.5);
    const o = { stride: c.stride, padding: c.pad, groups: c.groups, relu: c.relu, training: true };
    const fwd = ops.convBnForward({ x: x.t, w: w.t, gamma: gamma.t, beta: beta.t, runningMean: rm.t, runningVar: rv.t }, o);
    const z = ref.conv2dForward(x.v, w.v, g);
    const bn = ref.batchNormTrainForward(z, c.cout, gamma.v, beta.v, 1e-5);
    const y = c.relu ? ref.reluForward(bn.y) : bn.y;
    near(t, fwd.z!, z, 'z', ROUNDED, 'bfloat16');
    near(t, fwd.y, y, 'y', ROUNDED, 'bfloat16');
    near(t, fwd.saveMean!, bn.mean, 'batch mean', 1e-5, 'float32');
    near(t, fwd.saveVar!, bn.varBiased, 'batch variance', 1e-5, 'float32');

    // Backward from the forward's own bf16 z and y (what a training step hands it): the reference
    // takes the same rounded values, with the batch statistics the forward computed.
    const dy = randomBf16(fwd.y.shape, 7);
    const grads = ops.convBnBackward(dy.t, { x: x.t, w: w.t, gamma: gamma.t, z: fwd.z!, y: fwd.y, saveMean: fwd.saveMean!, saveVar: fwd.saveVar! }, o);
    const zk = values(fwd.z!), yk = values(fwd.y);
    const dbn = c.relu ? ref.reluBackward(dy.v, yk) : dy.v;
    const bnb = ref.batchNormTrainBackward(dbn, zk, c.cout, gamma.v, 1e-5);
    const cb = ref.conv2dBackward(bnb.dz, x.v, w.v, g);
    near(t, grads.dgamma, bnb.dgamma, 'dgamma', ROUNDED, 'float32');
    near(t, grads.dbeta, bnb.dbeta, 'dbeta', ROUNDED, 'float32');
    near(t, grads.dw, cb.dw, 'dw', TWICE, 'float32');
    near(t, grads.dx!, cb.dx, 'dx', TWICE, 'bfloat16');
    disposeAll(x, w, gamma, beta, rm, rv, fwd, dy, grads);
  });

  bf16Test(`bf16 convBn (${kernels}) inference matches float64 on rounded inputs: ${c.name}`, (t) => {
    const g: ref.ConvGeom = { n: c.n, h: c.h, w: c.w, cin: c.cin, cout: c.cout, kh: c.k, kw: c.k, strideH: c.stride, strideW: c.stride, padH: c.pad, padW: c.pad, groups: c.groups };
    const x = randomBf16([c.n, c.h, c.w, c.cin], 11);
    const w = randomBf16([c.cout, c.k, c.k, c.cin / c.groups], 12, 0.5);
    const gamma = random([c.cout], 13), beta = random([c.cout], 14, 0.5);
    const rm = random([c.cout], 15, 0.2);
    const rvData = ref.randomArray(c.cout, 16, 0.5).map((v) => 1 + v);
    const rv = { t: tensor(Float32Array.from(rvData), [c.cout]), v: Float64Array.from(Float32Array.from(rvData)) };
    const fwd = ops.convBnForward({ x: x.t, w: w.t, gamma: gamma.t, beta: beta.t, runningMean: rm.t, runningVar: rv.t }, { stride: c.stride, padding: c.pad, groups: c.groups, relu: c.relu, training: false });
    const bn = ref.batchNormEvalForward(ref.conv2dForward(x.v, w.v, g), c.cout, gamma.v, beta.v, rm.v, rv.v, 1e-5);
    near(t, fwd.y, c.relu ? ref.reluForward(bn) : bn, 'y', ROUNDED, 'bfloat16');
    disposeAll(x, w, gamma, beta, rm, rv, fwd);
  });
}
}
