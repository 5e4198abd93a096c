/**
 * The bf16 op cases shared by the CPU tests (test/ops/bf16*.test.ts) and the CUDA ones
 * (test/cuda/bf16.test.ts): every op against the float64 reference on the same bf16-rounded
 * inputs, so that the tolerance measures what the op adds, not the rounding of its inputs.
 */
import { ops, tensor, type Device } from '../../lib';
import { disposeAll, random } from '../helpers';
import * as ref from '../reference';
import { bf16Bits, bf16Test, near, randomBf16, ROUNDED, TWICE, values } from './bf16_support';

interface ConvCase {
  name: string;
  n: number; h: number; w: number; cin: number; cout: number;
  k: number; stride: number; pad: number; groups: number; relu: boolean;
}

const convCases: ConvCase[] = [
  { name: '3x3 stride 2, 4 groups, batch 3', n: 3, h: 6, w: 5, cin: 12, cout: 20, k: 3, stride: 2, pad: 1, groups: 4, relu: true },
  { name: '3x3, 32 groups of 2', n: 2, h: 5, w: 4, cin: 64, cout: 64, k: 3, stride: 1, pad: 1, groups: 32, relu: true },
  // Our own CPU kernel's shapes (grouped_conv.cc: 2, 4 or 8 channels per group; the depthwise
  // case goes to oneDNN), with widths that leave a partial block of four output pixels.
  { name: '3x3, 32 groups of 4 (stage 1), H != W', n: 2, h: 7, w: 9, cin: 128, cout: 128, k: 3, stride: 1, pad: 1, groups: 32, relu: true },
  { name: '3x3 stride 2, 8 groups of 8 (a stage 2 first block), no ReLU', n: 3, h: 9, w: 6, cin: 64, cout: 64, k: 3, stride: 2, pad: 1, groups: 8, relu: false },
  // Their input gradient at stride 1 is the same kernel on dz (padding k - 1 - p, weights turned).
  { name: '3x3, 16 groups of 8 (stage 2), W 3, no ReLU', n: 3, h: 6, w: 3, cin: 128, cout: 128, k: 3, stride: 1, pad: 1, groups: 16, relu: false },
  { name: '5x5 pad 1, 8 groups of 2', n: 2, h: 8, w: 7, cin: 16, cout: 16, k: 5, stride: 1, pad: 1, groups: 8, relu: true },
  { name: '3x3 depthwise, 16 channels, batch 1', n: 1, h: 5, w: 3, cin: 16, cout: 16, k: 3, stride: 1, pad: 1, groups: 16, relu: true },
  { name: '1x1 stride 1, no ReLU', n: 2, h: 7, w: 5, cin: 24, cout: 40, k: 1, stride: 1, pad: 0, groups: 1, relu: false },
  { name: '1x1 stride 1 with ReLU', n: 4, h: 3, w: 3, cin: 32, cout: 24, k: 1, stride: 1, pad: 0, groups: 1, relu: true },
  { name: '1x1 stride 2 (downsample)', n: 2, h: 8, w: 6, cin: 16, cout: 32, k: 1, stride: 2, pad: 0, groups: 1, relu: false },
  { name: '7x7 stride 2 pad 3 (stem), 3 channels in', n: 2, h: 11, w: 9, cin: 3, cout: 16, k: 7, stride: 2, pad: 3, groups: 1, relu: true },
];

/**
 * The convolution cases, each training (forward and backward) and inference, on `device`, titled
 * with `kernels` (on the CPU, which of mixed precision's kernels the process uses:
 * SENET_BF16_KERNELS).
 */
export function convCaseTests(kernels: string, device: Device = 'cpu'): void {
  const on = device === 'cpu' ? '' : ` on ${device}`;
  // On the GPU cuDNN writes the convolution's output in bf16 (as PyTorch's autocast there): the
  // batch statistics come from the rounded z, and y is a second rounding.
  const stats = device === 'cuda' ? ROUNDED : 1e-5;
  const yTol = device === 'cuda' ? TWICE : ROUNDED;
  for (const c of convCases) {
  bf16Test(`bf16 convBn${on} (${kernels}) training forward and backward match float64 on rounded inputs: ${c.name}`, (t) => {
    const g: ref.ConvGeom = { n: c.n, h: c.h, w: c.w, cin: c.cin, cout: c.cout, kh: c.k, kw: c.k, strideH: c.stride, strideW: c.stride, padH: c.pad, padW: c.pad, groups: c.groups };
    const x = randomBf16([c.n, c.h, c.w, c.cin], 1, 1, device);
    const w = randomBf16([c.cout, c.k, c.k, c.cin / c.groups], 2, 0.5, device);
    const gamma = random([c.cout], 3, 1, device), beta = random([c.cout], 4, 0.5, device);
    const rm = random([c.cout], 5, 0.2, device), rv = random([c.cout], 6, 0.5, device);
    const o = { stride: c.stride, padding: c.pad, groups: c.groups, relu: c.relu, training: true };
    const fwd = ops.convBnForward({ x: x.t, w: w.t, gamma: gamma.t, beta: beta.t, runningMean: rm.t, runningVar: rv.t }, o);
    const z = ref.conv2dForward(x.v, w.v, g);
    const bn = ref.batchNormTrainForward(z, c.cout, gamma.v, beta.v, 1e-5);
    const y = c.relu ? ref.reluForward(bn.y) : bn.y;
    near(t, fwd.z!, z, 'z', ROUNDED, 'bfloat16');
    near(t, fwd.y, y, 'y', yTol, 'bfloat16');
    near(t, fwd.saveMean!, bn.mean, 'batch mean', stats, 'float32');
    near(t, fwd.saveVar!, bn.varBiased, 'batch variance', stats, 'float32');

    // Backward from the forward's own bf16 z and y (what a training step hands it): the reference
    // takes the same rounded values, with the batch statistics the forward computed.
    const dy = randomBf16(fwd.y.shape, 7, 1, device);
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
  }, device);

  bf16Test(`bf16 convBn${on} (${kernels}) inference matches float64 on rounded inputs: ${c.name}`, (t) => {
    const g: ref.ConvGeom = { n: c.n, h: c.h, w: c.w, cin: c.cin, cout: c.cout, kh: c.k, kw: c.k, strideH: c.stride, strideW: c.stride, padH: c.pad, padW: c.pad, groups: c.groups };
    const x = randomBf16([c.n, c.h, c.w, c.cin], 11, 1, device);
    const w = randomBf16([c.cout, c.k, c.k, c.cin / c.groups], 12, 0.5, device);
    const gamma = random([c.cout], 13, 1, device), beta = random([c.cout], 14, 0.5, device);
    const rm = random([c.cout], 15, 0.2, device);
    const rvData = ref.randomArray(c.cout, 16, 0.5).map((v) => 1 + v);
    const rv = { t: tensor(Float32Array.from(rvData), [c.cout], { device }), v: Float64Array.from(Float32Array.from(rvData)) };
    const fwd = ops.convBnForward({ x: x.t, w: w.t, gamma: gamma.t, beta: beta.t, runningMean: rm.t, runningVar: rv.t }, { stride: c.stride, padding: c.pad, groups: c.groups, relu: c.relu, training: false });
    const bn = ref.batchNormEvalForward(ref.conv2dForward(x.v, w.v, g), c.cout, gamma.v, beta.v, rm.v, rv.v, 1e-5);
    near(t, fwd.y, c.relu ? ref.reluForward(bn) : bn, 'y', yTol, 'bfloat16');
    disposeAll(x, w, gamma, beta, rm, rv, fwd);
  }, device);
}
}

/** The SE block, pooling, the residual add and SGD's bf16 weight copy on `device`. */
export function opCaseTests(device: Device = 'cpu'): void {
  const on = device === 'cpu' ? '' : ` on ${device}`;

  bf16Test(`bf16 SE block (with the residual add and ReLU) forward and backward match float64 on rounded inputs${on}`, (t) => {
    // Also 16 channels: whole 16-byte packs on the GPU.
    for (const [n, h, w, c, r] of [[3, 5, 3, 40, 8], [8, 12, 12, 16, 8]] as const) {
      const u = randomBf16([n, h, w, c], 21, 1, device), sc = randomBf16([n, h, w, c], 22, 1, device);
      const w1 = random([r, c], 23, 0.3, device), b1 = random([r], 24, 0.1, device), w2 = random([c, r], 25, 0.3, device), b2 = random([c], 26, 0.1, device);
      const fwd = ops.seForward(u.t, { w1: w1.t, b1: b1.t, w2: w2.t, b2: b2.t }, sc.t);
      const e = ref.seForward(u.v, n, h * w, c, w1.v, b1.v, w2.v, b2.v, sc.v);
      const at = `${n}x${h}x${w}x${c}`;
      near(t, fwd.y, e.y, `${at}: y`, ROUNDED, 'bfloat16');
      near(t, fwd.pooled, e.pooled, `${at}: pooled`, 1e-5, 'float32');
      near(t, fwd.gate, e.gate, `${at}: gate`, 1e-5, 'float32');
      const dy = randomBf16([n, h, w, c], 27, 1, device);
      const g = ops.seBackward(dy.t, { u: u.t, pooled: fwd.pooled, hidden: fwd.hidden, gate: fwd.gate, residual: true, y: fwd.y }, { w1: w1.t, w2: w2.t });
      const eb = ref.seBackward(dy.v, u.v, n, h * w, c, w1.v, b1.v, w2.v, b2.v, sc.v);
      near(t, g.du, eb.du, `${at}: du`, ROUNDED, 'bfloat16');
      near(t, g.dshortcut!, eb.dshortcut!, `${at}: dshortcut`, ROUNDED, 'bfloat16');
      near(t, g.dw1, eb.dw1, `${at}: dw1`, 1e-4, 'float32');
      near(t, g.dw2, eb.dw2, `${at}: dw2`, 1e-4, 'float32');
      disposeAll(u, sc, w1, b1, w2, b2, fwd, dy, g);
    }
  }, device);

  bf16Test(`bf16 max pooling and global average pooling match float64 on rounded inputs${on}`, (t) => {
    // 5 channels, and 16 (whole 16-byte packs: the GPU's vector kernels).
    for (const c of [5, 16]) {
      const geom: ref.PoolGeom = { n: 2, h: 9, w: 7, c, kh: 3, kw: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 };
      const x = randomBf16([2, 9, 7, c], 31, 1, device);
      const y = ops.maxPoolForward(x.t);
      near(t, y, ref.maxPoolForward(x.v, geom).y, `C ${c}: max pool y`, 0, 'bfloat16'); // a max of bf16 values is exact
      const dy = randomBf16(y.shape, 32, 1, device);
      // Overlapping windows sum into one dx element, rounded once.
      near(t, ops.maxPoolBackward(dy.t, x.t, y), ref.maxPoolBackward(dy.v, x.v, geom), `C ${c}: max pool dx`, ROUNDED, 'bfloat16');
      const gap = ops.globalAvgPoolForward(x.t);
      near(t, gap, ref.globalAvgPoolForward(x.v, 2, 63, c), `C ${c}: global average (float32 features)`, 1e-6, 'float32');
      const dg = random([2, c], 33, 1, device);
      const dx = ops.globalAvgPoolBackward(dg.t, x.t.shape, undefined, { dtype: 'bfloat16' });
      near(t, dx, ref.globalAvgPoolBackward(dg.v, 2, 63, c), `C ${c}: global average dx`, ROUNDED, 'bfloat16');
      disposeAll(x, y, dy, gap, dg, dx);
    }
  }, device);

  bf16Test(`bf16 add sums in float32 and rounds once${on}`, (t) => {
    // An odd count, and one of whole 16-byte packs (the GPU's vector path).
    for (const shape of [[3, 7, 11], [3, 7, 16]]) {
      const a = randomBf16(shape, 41, 1, device), b = randomBf16(shape, 42, 1, device);
      const sum = ops.add(a.t, b.t);
      const bits = sum.toArray() as Uint16Array;
      t.is(sum.dtype, 'bfloat16');
      t.true(bits.every((v, i) => v === bf16Bits(Math.fround(a.v[i]! + b.v[i]!))), `${shape}: each sum is the bf16 rounding of the float32 sum`);
      disposeAll(a, b, sum);
    }
  }, device);

  bf16Test(`SGD rewrites the bf16 weight copy from the updated float32 weights in the same pass${on}`, (t) => {
    const p = random([37], 51, 1, device), g = random([37], 52, 1, device), m = random([37], 53, 1, device);
    const copy = ops.cast(p.t, 'bfloat16');
    // The same step without the copy, on copies of the weights and momentum: the float32 results
    // must be the same bits (the copy's loop is compiled apart, for AVX-512 on the CPU).
    const p2 = random([37], 51, 1, device), m2 = random([37], 53, 1, device);
    ops.sgdStep(p2.t, g.t, m2.t, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4, firstStep: false });
    ops.sgdStep(p.t, g.t, m.t, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4, firstStep: false, paramCopy: copy });
    const updated = p.t.toArray() as Float32Array;
    t.deepEqual(Array.from(updated), Array.from(p2.t.toArray() as Float32Array), 'weights as without the copy');
    t.deepEqual(Array.from(m.t.toArray() as Float32Array), Array.from(m2.t.toArray() as Float32Array), 'momentum as without the copy');
    t.deepEqual(Array.from(copy.toArray() as Uint16Array), Array.from(updated, bf16Bits));
    // A skipped step leaves both untouched.
    const skip = tensor(new Int32Array([1]), [], { device });
    const before = Array.from(copy.toArray() as Uint16Array);
    ops.sgdStep(p.t, g.t, m.t, { lr: 0.1, momentum: 0.9, skipIf: skip, paramCopy: copy });
    t.deepEqual(Array.from(copy.toArray() as Uint16Array), before);
    t.deepEqual(Array.from(p.t.toArray() as Float32Array), Array.from(updated));
    disposeAll(p, g, m, copy, skip, p2, m2);
  }, device);
}
