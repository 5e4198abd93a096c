import { copy, memory, ops, randn, rand, tensor, zeros, empty, fill, type Tensor } from '../../lib';
import { close, codeOf, disposeAll } from '../helpers';
import { seededRandom } from '../reference';
import { gpuTest, onBoth, randomBoth, disposeBoth } from './gpu';

// Each op on the GPU against the CPU backend on the same inputs: 1e-4 relative (fp32, no TF32).

function host(t: Tensor): Float32Array {
  return t.toArray() as Float32Array;
}

gpuTest('seeded fills give the same tensor on both backends', (t) => {
  const shape = [3, 5, 7, 11];
  const a = randn(shape, { seed: 7 });
  const b = randn(shape, { seed: 7, device: 'cuda' });
  close(t, host(b), host(a), 'randn', 1e-6);
  const c = rand(shape, { seed: 9, low: -1, high: 3 });
  const d = rand(shape, { seed: 9, low: -1, high: 3, device: 'cuda' });
  close(t, host(d), host(c), 'rand', 1e-6);
  const e = zeros([1001], { dtype: 'int64', device: 'cuda' });
  fill(e, 5);
  t.deepEqual(Array.from(e.toArray() as BigInt64Array), new Array(1001).fill(5n));
  disposeAll(a, b, c, d, e);
});

gpuTest('host <-> device copies round-trip every dtype; views and device copies work', (t) => {
  const data = [
    Float32Array.from({ length: 1000 }, (_, i) => i * 0.5 - 7),
    BigInt64Array.from({ length: 1000 }, (_, i) => BigInt(i) * 123456789n - 5n),
    Int32Array.from({ length: 1000 }, (_, i) => i * 97 - 3000),
    Uint8Array.from({ length: 1000 }, (_, i) => i % 256),
  ];
  for (const d of data) {
    const g = tensor(d, [10, 100], { device: 'cuda' });
    t.is(g.device, 'cuda');
    t.deepEqual(g.toArray(), d);
    g.dispose();
  }
  const g = tensor(data[0] as Float32Array, [1000], { device: 'cuda' });
  const v = g.view(10, [5]);
  t.deepEqual(Array.from(host(v)), [-2, -1.5, -1, -0.5, 0]);
  const h = empty([1000], { device: 'cuda' });
  ops.add(g, g, h);
  const back = zeros([1000]);
  copy(h, back);
  t.deepEqual(Array.from(host(back)).slice(0, 3), [-14, -13, -12]);
  // Many batches in a row through the double-buffered pinned staging.
  for (let i = 0; i < 50; i++) g.set(Float32Array.from({ length: 1000 }, () => i));
  t.is(host(g)[999], 49);
  disposeAll(g, v, h, back);
});

for (const c of [
  { name: 'stem 3x3/2 pad 1, batch 1, 7x9x5', n: 1, h: 7, w: 9, ch: 5, k: 3, s: 2, p: 1 },
  { name: 'stem 3x3/2 pad 1, batch 3, 16x12x64', n: 3, h: 16, w: 12, ch: 64, k: 3, s: 2, p: 1 },
  { name: '2x2/2, 5x4x3', n: 2, h: 5, w: 4, ch: 3, k: 2, s: 2, p: 0 },
]) {
  gpuTest(`max pool forward and backward on CUDA match the CPU: ${c.name}`, (t) => {
    // Distinct values so that each window's maximum is unambiguous.
    const count = c.n * c.h * c.w * c.ch;
    const rnd = seededRandom(3);
    const values = Float32Array.from({ length: count }, (_, i) => i / count);
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [values[i], values[j]] = [values[j]!, values[i]!];
    }
    const x = onBoth(values, [c.n, c.h, c.w, c.ch]);
    const opts = { kernel: c.k, stride: c.s, padding: c.p };
    const yc = ops.maxPoolForward(x.cpu, opts);
    const yg = ops.maxPoolForward(x.gpu, opts);
    t.deepEqual(yg.shape, yc.shape);
    close(t, host(yg), host(yc), 'y');
    const dy = randomBoth(yc.shape, 4);
    close(t, host(ops.maxPoolBackward(dy.gpu, x.gpu, yg, opts)), host(ops.maxPoolBackward(dy.cpu, x.cpu, yc, opts)), 'dx');
    disposeBoth(x, dy);
    disposeAll(yc, yg);
  });
}

for (const c of [
  { n: 1, h: 3, w: 5, ch: 7 },
  { n: 3, h: 7, w: 7, ch: 2048 },
  { n: 2, h: 1, w: 1, ch: 33 },
]) {
  gpuTest(`global average pool on CUDA matches the CPU: batch ${c.n}, ${c.h}x${c.w}x${c.ch}`, (t) => {
    const x = randomBoth([c.n, c.h, c.w, c.ch], 1);
    close(t, host(ops.globalAvgPoolForward(x.gpu)), host(ops.globalAvgPoolForward(x.cpu)), 'y');
    const dy = randomBoth([c.n, c.ch], 2);
    close(t, host(ops.globalAvgPoolBackward(dy.gpu, x.gpu.shape)), host(ops.globalAvgPoolBackward(dy.cpu, x.cpu.shape)), 'dx');
    disposeBoth(x, dy);
  });
}

for (const c of [
  { name: 'batch 1, 7 -> 5, bias', n: 1, i: 7, o: 5, bias: true },
  { name: 'batch 3, 33 -> 10, no bias', n: 3, i: 33, o: 10, bias: false },
  { name: 'batch 64, 2048 -> 1000, bias', n: 64, i: 2048, o: 1000, bias: true },
]) {
  gpuTest(`linear forward and backward on CUDA (cuBLAS) match the CPU: ${c.name}`, (t) => {
    const x = randomBoth([c.n, c.i], 1);
    const w = randomBoth([c.o, c.i], 2, 0.1);
    const b = c.bias ? randomBoth([c.o], 3) : null;
    close(t, host(ops.linearForward(x.gpu, w.gpu, b?.gpu)), host(ops.linearForward(x.cpu, w.cpu, b?.cpu)), 'y');
    const dy = randomBoth([c.n, c.o], 4);
    const gg = ops.linearBackward(dy.gpu, x.gpu, w.gpu, { bias: c.bias });
    const gc = ops.linearBackward(dy.cpu, x.cpu, w.cpu, { bias: c.bias });
    close(t, host(gg.dx!), host(gc.dx!), 'dx');
    close(t, host(gg.dw), host(gc.dw), 'dw');
    if (c.bias) close(t, host(gg.db!), host(gc.db!), 'db');
    disposeBoth(x, w, b, dy);
    disposeAll(gg, gc);
  });
}

for (const c of [
  { name: 'batch 1, 3 classes, int64', n: 1, k: 3, eps: 0, dtype: 'int64' as const },
  { name: 'batch 37, 10 classes, int32, smoothing 0.1', n: 37, k: 10, eps: 0.1, dtype: 'int32' as const },
  { name: 'batch 256, 1000 classes, int64', n: 256, k: 1000, eps: 0, dtype: 'int64' as const },
]) {
  gpuTest(`cross-entropy on CUDA matches the CPU: ${c.name}`, (t) => {
    const logits = randomBoth([c.n, c.k], 1, 4);
    const labels = Array.from({ length: c.n }, (_, i) => (i * 7 + 1) % c.k);
    const make = (device: 'cpu' | 'cuda') =>
      c.dtype === 'int64' ? tensor(BigInt64Array.from(labels.map(BigInt)), [c.n], { device }) : tensor(Int32Array.from(labels), [c.n], { device });
    const lc = make('cpu');
    const lg = make('cuda');
    const opts = { labelSmoothing: c.eps };
    const fc = ops.crossEntropyForward(logits.cpu, lc, opts);
    const fg = ops.crossEntropyForward(logits.gpu, lg, opts);
    close(t, host(fg.loss), host(fc.loss), 'loss');
    t.deepEqual(fg.correct.toArray(), fc.correct.toArray());
    close(t, host(ops.crossEntropyBackward(logits.gpu, lg, opts)), host(ops.crossEntropyBackward(logits.cpu, lc, opts)), 'dlogits');
    disposeBoth(logits);
    disposeAll(lc, lg, fc, fg);
  });
}

gpuTest('an out-of-range label on CUDA rejects the next read with SENET_ARGUMENT, as on the CPU', async (t) => {
  const logits = zeros([2, 3], { device: 'cuda' });
  const labels = tensor(BigInt64Array.from([0n, 7n]), [2], { device: 'cuda' });
  const { loss, correct } = ops.crossEntropyForward(logits, labels);
  const err = await t.throwsAsync(loss.data());
  t.is((err as { code?: string }).code, 'SENET_ARGUMENT');
  t.regex(err!.message, /labels: expected values in \[0, classes\)/);
  const good = tensor(BigInt64Array.from([0n, 2n]), [2], { device: 'cuda' });
  const again = ops.crossEntropyForward(logits, good);
  t.true(Number.isFinite((await again.loss.data())[0]!), 'cleared once reported');
  disposeAll(logits, labels, loss, correct, good, again.loss, again.correct);
});

gpuTest('queued CUDA work: async reads, cross-device copies in order, the device-side skip and guarded copy', async (t) => {
  const a = randn([1000], { seed: 3 });
  const g = empty([1000], { device: 'cuda' });
  copy(a, g);
  ops.add(g, g, g);
  const back = empty([1000]);
  copy(g, back);
  ops.add(back, back, back);
  const want = Array.from(a.toArray() as Float32Array).map((v) => 4 * v);
  t.deepEqual(Array.from(await back.data()), want.map((v) => Math.fround(v)));
  // SGD skipped by a device flag, and a copy made only when a flag is set.
  const p = randomBoth([64], 5);
  const grad = randomBoth([64], 6);
  const before = host(p.gpu);
  const flag = tensor(Int32Array.of(1), [], { device: 'cuda' });
  ops.sgdStep(p.gpu, grad.gpu, null, { lr: 0.1, skipIf: flag });
  t.deepEqual(host(p.gpu), before, 'skipped');
  const off = tensor(Int32Array.of(0), [], { device: 'cuda' });
  ops.sgdStep(p.gpu, grad.gpu, null, { lr: 0.1, skipIf: off });
  ops.sgdStep(p.cpu, grad.cpu, null, { lr: 0.1 });
  close(t, host(p.gpu), host(p.cpu), 'stepped');
  const dst = zeros([64], { device: 'cuda' });
  copy(p.gpu, dst, { onlyIf: off });
  t.true(host(dst).every((v) => v === 0));
  copy(p.gpu, dst, { onlyIf: flag });
  t.deepEqual(host(dst), host(p.gpu));
  // The non-finite count and the NCHW -> NHWC transpose.
  const bad = tensor(Float32Array.of(1, NaN, Infinity, 2), [4], { device: 'cuda' });
  t.is((await ops.nonFiniteCount([bad, bad]).data())[0], 4);
  const sticky = ops.nonFiniteCount([bad]);
  ops.nonFiniteCount([bad], sticky, { accumulate: true });
  t.is((await sticky.data())[0], 4, 'accumulate adds to the count');
  sticky.dispose();
  // Bytes normalised on the GPU: the CPU's floats, bit for bit, in both output types.
  const bytes = Uint8Array.from({ length: 2 * 5 * 3 * 3 }, (_, i) => (i * 37 + 11) & 255);
  const table = Float32Array.from({ length: 3 * 256 }, (_, i) => (((i & 255) / 255 - 0.1 * (i >> 8)) / 0.3));
  for (const dtype of ['float32', 'bfloat16'] as const) {
    const on = (device: 'cpu' | 'cuda') => ops.normalizeBytes(tensor(bytes, [2, 5, 3, 3], { device }), tensor(table, [3, 256], { device }), empty([2, 5, 3, 3], { dtype, device }));
    t.deepEqual(await on('cuda').data(), await on('cpu').data(), `normalizeBytes ${dtype}`);
  }
  const nchw = randomBoth([2, 3, 4, 5], 7);
  close(t, host(ops.toChannelsLast(nchw.gpu)), host(ops.toChannelsLast(nchw.cpu)), 'toChannelsLast', 0);
  disposeAll(a, g, back, flag, off, dst, bad);
  disposeBoth(p, grad, nchw);
});

for (const v of [
  { name: 'plain, unaligned view (scalar path)', offset: 1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
  { name: 'momentum + weight decay (vector path)', offset: 0, momentum: 0.9, dampening: 0, weightDecay: 1e-4, nesterov: false },
  { name: 'nesterov', offset: 0, momentum: 0.9, dampening: 0, weightDecay: 5e-4, nesterov: true },
  { name: 'dampening, odd length', offset: 0, momentum: 0.8, dampening: 0.3, weightDecay: 0, nesterov: false, n: 1001 },
]) {
  gpuTest(`SGD on CUDA matches the CPU over three steps: ${v.name}`, (t) => {
    const n = v.n ?? 4096;
    const base = randomBoth([n + v.offset], 1);
    const p = { cpu: base.cpu.view(v.offset, [n]), gpu: base.gpu.view(v.offset, [n]) };
    const buf = v.momentum ? randomBoth([n], 2) : null;
    for (let step = 0; step < 3; step++) {
      const g = randomBoth([n], 10 + step);
      const o = { lr: 0.1, ...v, firstStep: step === 0 };
      ops.sgdStep(p.cpu, g.cpu, buf?.cpu ?? null, o);
      ops.sgdStep(p.gpu, g.gpu, buf?.gpu ?? null, o);
      disposeBoth(g);
    }
    close(t, host(p.gpu), host(p.cpu), 'param');
    if (buf) close(t, host(buf.gpu), host(buf.cpu), 'momentum buffer');
    disposeBoth(base, buf);
  });
}

gpuTest('asking for too much GPU memory is SENET_CUDA_OOM naming the bytes, and the process goes on', (t) => {
  let err: { code?: string; message: string } | undefined;
  try {
    empty([2 ** 44 / 4], { device: 'cuda' }); // 16 TiB
  } catch (e) {
    err = e as typeof err;
  }
  t.is(err?.code, 'SENET_CUDA_OOM');
  t.regex(err?.message ?? '', /requested 17592186044416 bytes, \d+ free of \d+ total/);
  t.true(memory().cudaPoolBytes >= 0);
  const ok = randn([1024, 1024], { device: 'cuda', seed: 1 });
  t.is(ok.device, 'cuda');
  ok.dispose();
});

gpuTest('mixing devices in one op is SENET_DEVICE', (t) => {
  const a = zeros([4], { device: 'cuda' });
  const b = zeros([4]);
  t.is(codeOf(() => ops.add(a, b)), 'SENET_DEVICE');
  disposeAll(a, b);
});
