import { ops, tensor, type Tensor } from '../../lib';
import { close, disposeAll } from '../helpers';
import { randomArray } from '../reference';
import { disposeBoth, gpuTest, onBoth, randomBoth } from './gpu';

// The fused ops of the CUDA backend against the CPU backend on the same inputs: grouped conv +
// batch norm + ReLU (cuDNN and our kernels) and the SE block (our kernels and cuBLAS).

function host(t: Tensor): Float32Array {
  return t.toArray() as Float32Array;
}

const convCases = [
  { name: '3x3 batch 1, groups 1', n: 1, h: 5, w: 7, cin: 3, cout: 5, k: 3, stride: 1, pad: 1, groups: 1, relu: true },
  { name: '3x3 stride 2, 32 groups of 4, batch 3', n: 3, h: 9, w: 6, cin: 128, cout: 128, k: 3, stride: 2, pad: 1, groups: 32, relu: true },
  { name: '3x3 one group per channel', n: 2, h: 7, w: 6, cin: 6, cout: 6, k: 3, stride: 2, pad: 1, groups: 6, relu: true },
  // float32 1x1 stride 1: the input gradient is a cuBLAS product (cuda/conv_bn.cu), not cuDNN's.
  { name: '1x1 stride 1 (input gradient by cuBLAS)', n: 2, h: 6, w: 5, cin: 24, cout: 40, k: 1, stride: 1, pad: 0, groups: 1, relu: true },
  { name: '1x1 stride 2, no ReLU, channels not a multiple of 4', n: 2, h: 8, w: 6, cin: 6, cout: 10, k: 1, stride: 2, pad: 0, groups: 1, relu: false },
  { name: '7x7 stride 2 pad 3 stem', n: 2, h: 23, w: 17, cin: 3, cout: 16, k: 7, stride: 2, pad: 3, groups: 1, relu: true },
];

for (const c of convCases) {
  gpuTest(`conv + BN + ReLU on CUDA matches the CPU, training and inference: ${c.name}`, (t) => {
    const x = randomBoth([c.n, c.h, c.w, c.cin], 1);
    const w = randomBoth([c.cout, c.k, c.k, c.cin / c.groups], 2, 0.5);
    const gamma = randomBoth([c.cout], 3);
    const beta = randomBoth([c.cout], 4, 0.5);
    const rv = Float32Array.from(randomArray(c.cout, 5, 0.5).map((v) => 1 + v));
    const stats = { rm: randomBoth([c.cout], 6, 0.2), rv: onBoth(rv, [c.cout]) };
    const opts = { stride: c.stride, padding: c.pad, groups: c.groups, relu: c.relu, training: true };
    const run = (d: 'cpu' | 'gpu') =>
      ops.convBnForward({ x: x[d], w: w[d], gamma: gamma[d], beta: beta[d], runningMean: stats.rm[d], runningVar: stats.rv[d] }, opts);
    const fc = run('cpu');
    const fg = run('gpu');
    close(t, host(fg.z!), host(fc.z!), 'z');
    close(t, host(fg.y), host(fc.y), 'y');
    close(t, host(fg.saveMean!), host(fc.saveMean!), 'batch mean');
    close(t, host(fg.saveVar!), host(fc.saveVar!), 'batch variance');
    close(t, host(stats.rm.gpu), host(stats.rm.cpu), 'running mean');
    close(t, host(stats.rv.gpu), host(stats.rv.cpu), 'running variance');
    const dy = randomBoth(fc.y.shape, 7);
    const back = (d: 'cpu' | 'gpu', f: typeof fc) =>
      ops.convBnBackward(dy[d], { x: x[d], w: w[d], gamma: gamma[d], z: f.z!, y: f.y, saveMean: f.saveMean!, saveVar: f.saveVar! }, opts);
    const gc = back('cpu', fc);
    const gg = back('gpu', fg);
    close(t, host(gg.dx!), host(gc.dx!), 'dx');
    close(t, host(gg.dw), host(gc.dw), 'dw');
    close(t, host(gg.dgamma), host(gc.dgamma), 'dgamma');
    close(t, host(gg.dbeta), host(gc.dbeta), 'dbeta');
    const inference = { ...opts, training: false };
    const ic = ops.convBnForward({ x: x.cpu, w: w.cpu, gamma: gamma.cpu, beta: beta.cpu, runningMean: stats.rm.cpu, runningVar: stats.rv.cpu }, inference);
    const ig = ops.convBnForward({ x: x.gpu, w: w.gpu, gamma: gamma.gpu, beta: beta.gpu, runningMean: stats.rm.gpu, runningVar: stats.rv.gpu }, inference);
    close(t, host(ig.y), host(ic.y), 'inference y');
    disposeBoth(x, w, gamma, beta, stats.rm, stats.rv, dy);
    disposeAll(fc, fg, gc, gg, ic, ig);
  });
}

for (const c of [
  { name: 'batch 1, 3x5, 12 channels, hidden 8', n: 1, h: 3, w: 5, c: 12, r: 8 },
  { name: 'batch 3, 7x7, 2048 channels, hidden 128', n: 3, h: 7, w: 7, c: 2048, r: 128 },
  { name: 'batch 2, 4x6, 33 channels, hidden 3', n: 2, h: 4, w: 6, c: 33, r: 3 },
]) {
  for (const fused of [false, true]) {
    gpuTest(`SE on CUDA matches the CPU ${fused ? 'fused with residual add + ReLU' : 'alone'}: ${c.name}`, (t) => {
      const u = randomBoth([c.n, c.h, c.w, c.c], 1);
      const sc = randomBoth([c.n, c.h, c.w, c.c], 2);
      const w1 = randomBoth([c.r, c.c], 3, 0.3);
      const b1 = randomBoth([c.r], 4, 0.3);
      const w2 = randomBoth([c.c, c.r], 5, 0.3);
      const b2 = randomBoth([c.c], 6, 0.3);
      const weights = (d: 'cpu' | 'gpu') => ({ w1: w1[d], b1: b1[d], w2: w2[d], b2: b2[d] });
      const fc = ops.seForward(u.cpu, weights('cpu'), fused ? sc.cpu : null);
      const fg = ops.seForward(u.gpu, weights('gpu'), fused ? sc.gpu : null);
      for (const k of ['y', 'pooled', 'hidden', 'gate'] as const) close(t, host(fg[k]), host(fc[k]), k);
      const dy = randomBoth(u.cpu.shape, 7);
      const back = (d: 'cpu' | 'gpu', f: typeof fc) =>
        ops.seBackward(dy[d], { u: u[d], pooled: f.pooled, hidden: f.hidden, gate: f.gate, residual: fused, y: fused ? f.y : undefined }, weights(d));
      const gc = back('cpu', fc);
      const gg = back('gpu', fg);
      close(t, host(gg.du), host(gc.du), 'du');
      if (fused) close(t, host(gg.dshortcut!), host(gc.dshortcut!), 'dshortcut');
      for (const k of ['dw1', 'db1', 'dw2', 'db2'] as const) close(t, host(gg[k]), host(gc[k]), k);
      disposeBoth(u, sc, w1, b1, w2, b2, dy);
      disposeAll(fc, fg, gc, gg);
    });
  }
}

gpuTest('a NaN reaches the loss through the GPU ReLUs as through PyTorch\'s', (t) => {
  const x = tensor(Float32Array.from([NaN, 1, 2, 3]), [1, 2, 2, 1], { device: 'cuda' });
  const w = tensor(Float32Array.from([1]), [1, 1, 1, 1], { device: 'cuda' });
  const one = tensor(Float32Array.from([1]), [1], { device: 'cuda' });
  const zero = tensor(Float32Array.from([0]), [1], { device: 'cuda' });
  const f = ops.convBnForward({ x, w, gamma: one, beta: zero, runningMean: zero, runningVar: one }, { training: false });
  t.true(Number.isNaN(host(f.y)[0]));
  disposeAll(x, w, one, zero, f);
});

gpuTest('outputs in views at odd offsets work (no vector loads assumed aligned), and a NaN batch shows in the statistics', (t) => {
  const x = randomBoth([2, 4, 4, 8], 1);
  const w = randomBoth([8, 1, 1, 8], 2, 0.5);
  const gamma = onBoth(new Float32Array(8).fill(1), [8]);
  const beta = onBoth(new Float32Array(8), [8]);
  const run = (d: 'cpu' | 'gpu') => {
    const dev = d === 'gpu' ? 'cuda' : 'cpu';
    const buf = tensor(new Float32Array(2 * 4 * 4 * 8 * 2 + 2), [2 * 4 * 4 * 8 * 2 + 2], { device: dev });
    const y = buf.view(1, [2, 4, 4, 8]);
    const z = buf.view(2 + 2 * 4 * 4 * 8, [2, 4, 4, 8]);
    const stats = { runningMean: tensor(new Float32Array(8), [8], { device: dev }), runningVar: tensor(new Float32Array(8).fill(1), [8], { device: dev }) };
    const f = ops.convBnForward({ x: x[d], w: w[d], gamma: gamma[d], beta: beta[d], ...stats }, {}, { y, z });
    return { y: host(f.y), mean: host(f.saveMean!), keep: [buf, y, z, f.saveMean!, f.saveVar!, stats.runningMean, stats.runningVar] };
  };
  const c = run('cpu');
  const g = run('gpu');
  close(t, g.y, c.y, 'y in a view at offset 1');
  disposeAll(...c.keep, ...g.keep);
  const nan = tensor(Float32Array.from([NaN, 1, 2, 3]), [1, 2, 2, 1], { device: 'cuda' });
  const one = tensor(Float32Array.from([1]), [1], { device: 'cuda' });
  const rm = tensor(Float32Array.from([0]), [1], { device: 'cuda' });
  const rv = tensor(Float32Array.from([1]), [1], { device: 'cuda' });
  const w1 = tensor(Float32Array.from([1]), [1, 1, 1, 1], { device: 'cuda' });
  const b0 = tensor(Float32Array.from([0]), [1], { device: 'cuda' });
  const f = ops.convBnForward({ x: nan, w: w1, gamma: one, beta: b0, runningMean: rm, runningVar: rv }, { relu: false });
  t.true(Number.isNaN(host(f.saveVar!)[0]), 'batch variance NaN');
  t.true(Number.isNaN(host(rv)[0]), 'running variance NaN, as on the CPU and in PyTorch');
  disposeBoth(x, w, gamma, beta);
  disposeAll(nan, one, rm, rv, w1, b0, f);
});
