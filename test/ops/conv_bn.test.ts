import test from 'ava';
import { ops, tensor } from '../../lib';
import { close, disposeAll, random } from '../helpers';
import * as ref from '../reference';

interface Case {
  name: string;
  n: number; h: number; w: number; cin: number; cout: number;
  k: number; stride: number; pad: number; groups: number;
  relu: boolean;
}

// Odd shapes on purpose: batch 1 and 3, H != W, stride 2, 1 / 4 / 32 groups and one per channel,
// channels that are not multiples of 8, the stem's 7x7 and the downsample's 1x1 stride 2.
const cases: Case[] = [
  { name: '3x3 batch 1, groups 1', n: 1, h: 5, w: 7, cin: 3, cout: 5, k: 3, stride: 1, pad: 1, groups: 1, relu: true },
  { name: '3x3 stride 2, 4 groups, batch 3', n: 3, h: 6, w: 5, cin: 12, cout: 20, k: 3, stride: 2, pad: 1, groups: 4, relu: true },
  { name: '3x3 stride 2, one group per channel', n: 2, h: 7, w: 6, cin: 6, cout: 6, k: 3, stride: 2, pad: 1, groups: 6, relu: true },
  { name: '3x3, 32 groups of 2', n: 1, h: 5, w: 4, cin: 64, cout: 64, k: 3, stride: 1, pad: 1, groups: 32, relu: true },
  // 1x1 stride 1 runs as a matrix product on the CPU: backward always, forward below 1024 rows
  // (N H W), transposed up to 256 rows. Each way, with and without ReLU.
  { name: '1x1 stride 1, batch 3, ReLU', n: 3, h: 5, w: 4, cin: 7, cout: 9, k: 1, stride: 1, pad: 0, groups: 1, relu: true },
  { name: '1x1 stride 1, batch 1, no ReLU', n: 1, h: 3, w: 6, cin: 10, cout: 4, k: 1, stride: 1, pad: 0, groups: 1, relu: false },
  { name: '1x1 stride 1, 264 rows, ReLU', n: 2, h: 12, w: 11, cin: 5, cout: 6, k: 1, stride: 1, pad: 0, groups: 1, relu: true },
  { name: '1x1 stride 1, 1058 rows, ReLU', n: 2, h: 23, w: 23, cin: 3, cout: 4, k: 1, stride: 1, pad: 0, groups: 1, relu: true },
  { name: '1x1 stride 2 on even sizes, no ReLU', n: 2, h: 8, w: 6, cin: 6, cout: 10, k: 1, stride: 2, pad: 0, groups: 1, relu: false },
  { name: '7x7 stride 2 pad 3 (stem), 1 channel in', n: 2, h: 11, w: 9, cin: 1, cout: 7, k: 7, stride: 2, pad: 3, groups: 1, relu: true },
];

function geom(c: Case): ref.ConvGeom {
  return { n: c.n, h: c.h, w: c.w, cin: c.cin, cout: c.cout, kh: c.k, kw: c.k, strideH: c.stride, strideW: c.stride, padH: c.pad, padW: c.pad, groups: c.groups };
}

function setup(c: Case, seed: number) {
  const x = random([c.n, c.h, c.w, c.cin], seed, 1);
  const w = random([c.cout, c.k, c.k, c.cin / c.groups], seed + 1, 0.5);
  const gamma = random([c.cout], seed + 2, 1);
  const beta = random([c.cout], seed + 3, 0.5);
  const rm = random([c.cout], seed + 4, 0.2);
  const rv = ref.randomArray(c.cout, seed + 5, 0.5).map((v) => 1 + v);
  const runVar = { t: tensor(Float32Array.from(rv), [c.cout]), v: Float64Array.from(Float32Array.from(rv)) };
  return { x, w, gamma, beta, rm, rv: runVar };
}

const options = (c: Case, training: boolean) => ({ stride: c.stride, padding: c.pad, groups: c.groups, relu: c.relu, training });

for (const c of cases) {
  test(`convBn training forward and backward match float64: ${c.name}`, (t) => {
    const s = setup(c, 11);
    const g = geom(c);
    const fwd = ops.convBnForward(
      { x: s.x.t, w: s.w.t, gamma: s.gamma.t, beta: s.beta.t, runningMean: s.rm.t, runningVar: s.rv.t },
      options(c, true),
    );
    const z = ref.conv2dForward(s.x.v, s.w.v, g);
    const bn = ref.batchNormTrainForward(z, c.cout, s.gamma.v, s.beta.v, 1e-5);
    const y = c.relu ? ref.reluForward(bn.y) : bn.y;
    close(t, fwd.z!, z, 'z');
    close(t, fwd.y, y, 'y');
    close(t, fwd.saveMean!, bn.mean, 'batch mean');
    close(t, fwd.saveVar!, bn.varBiased, 'batch variance');
    const run = ref.runningStatsUpdate(s.rm.v, s.rv.v, bn.mean, bn.varUnbiased, 0.1);
    close(t, s.rm.t, run.mean, 'running mean');
    close(t, s.rv.t, run.var, 'running variance');

    const dy = random(fwd.y.shape, 99, 1);
    const grads = ops.convBnBackward(
      dy.t,
      { x: s.x.t, w: s.w.t, gamma: s.gamma.t, z: fwd.z!, y: fwd.y, saveMean: fwd.saveMean!, saveVar: fwd.saveVar! },
      options(c, true),
    );
    const dbn = c.relu ? ref.reluBackward(dy.v, y) : dy.v;
    const bnb = ref.batchNormTrainBackward(dbn, z, c.cout, s.gamma.v, 1e-5);
    const cb = ref.conv2dBackward(bnb.dz, s.x.v, s.w.v, g);
    close(t, grads.dx!, cb.dx, 'dx');
    close(t, grads.dw, cb.dw, 'dw');
    close(t, grads.dgamma, bnb.dgamma, 'dgamma');
    close(t, grads.dbeta, bnb.dbeta, 'dbeta');
    disposeAll(s.x, s.w, s.gamma, s.beta, s.rm, s.rv, fwd, dy, grads);
  });

  test(`convBn inference forward matches float64 and leaves running statistics alone: ${c.name}`, (t) => {
    const s = setup(c, 21);
    const g = geom(c);
    const fwd = ops.convBnForward(
      { x: s.x.t, w: s.w.t, gamma: s.gamma.t, beta: s.beta.t, runningMean: s.rm.t, runningVar: s.rv.t },
      options(c, false),
    );
    t.is(fwd.z, null);
    const z = ref.conv2dForward(s.x.v, s.w.v, g);
    const bn = ref.batchNormEvalForward(z, c.cout, s.gamma.v, s.beta.v, s.rm.v, s.rv.v, 1e-5);
    close(t, fwd.y, c.relu ? ref.reluForward(bn) : bn, 'y');
    t.deepEqual(Array.from(s.rm.t.toArray() as Float32Array), Array.from(s.rm.v));
    disposeAll(s.x, s.w, s.gamma, s.beta, s.rm, s.rv, fwd);
  });
}

test('convBn backward agrees with finite differences of the float64 forward', (t) => {
  const c: Case = { name: 'fd', n: 2, h: 4, w: 3, cin: 4, cout: 4, k: 3, stride: 2, pad: 1, groups: 2, relu: false };
  const s = setup(c, 31);
  const g = geom(c);
  const r = ref.randomArray(c.n * 2 * 2 * c.cout, 32, 1);
  const loss = (x: Float64Array, w: Float64Array, gamma: Float64Array, beta: Float64Array) =>
    ref.dot(ref.batchNormTrainForward(ref.conv2dForward(x, w, g), c.cout, gamma, beta, 1e-5).y, r);
  const fwd = ops.convBnForward({ x: s.x.t, w: s.w.t, gamma: s.gamma.t, beta: s.beta.t, runningMean: s.rm.t, runningVar: s.rv.t }, options(c, true));
  const dy = tensor(Float32Array.from(r), fwd.y.shape);
  const grads = ops.convBnBackward(dy, { x: s.x.t, w: s.w.t, gamma: s.gamma.t, z: fwd.z!, y: fwd.y, saveMean: fwd.saveMean!, saveVar: fwd.saveVar! }, options(c, true));
  const x = Float64Array.from(s.x.v), w = Float64Array.from(s.w.v), ga = Float64Array.from(s.gamma.v), be = Float64Array.from(s.beta.v);
  close(t, grads.dx!, ref.numericGradient((v) => loss(v, w, ga, be), x), 'dx vs finite differences', 1e-3);
  close(t, grads.dw, ref.numericGradient((v) => loss(x, v, ga, be), w), 'dw vs finite differences', 1e-3);
  close(t, grads.dgamma, ref.numericGradient((v) => loss(x, w, v, be), ga), 'dgamma vs finite differences', 1e-3);
  close(t, grads.dbeta, ref.numericGradient((v) => loss(x, w, ga, v), be), 'dbeta vs finite differences', 1e-3);
  disposeAll(s.x, s.w, s.gamma, s.beta, s.rm, s.rv, fwd, dy, grads);
});

test('convBn backward can skip dx and writes into given buffers', (t) => {
  const c = cases[1]!;
  const s = setup(c, 41);
  const fwd = ops.convBnForward({ x: s.x.t, w: s.w.t, gamma: s.gamma.t, beta: s.beta.t, runningMean: s.rm.t, runningVar: s.rv.t }, options(c, true));
  const dy = random(fwd.y.shape, 42);
  const full = ops.convBnBackward(dy.t, { x: s.x.t, w: s.w.t, gamma: s.gamma.t, z: fwd.z!, y: fwd.y, saveMean: fwd.saveMean!, saveVar: fwd.saveVar! }, options(c, true));
  const dw = random(s.w.t.shape, 43);
  const part = ops.convBnBackward(dy.t, { x: s.x.t, w: s.w.t, gamma: s.gamma.t, z: fwd.z!, y: fwd.y, saveMean: fwd.saveMean!, saveVar: fwd.saveVar! }, options(c, true), { dx: null, dw: dw.t });
  t.is(part.dx, null);
  t.is(part.dw, dw.t);
  t.deepEqual(part.dw.toArray(), full.dw.toArray());
  disposeAll(s.x, s.w, s.gamma, s.beta, s.rm, s.rv, fwd, dy, full, part);
});
