import test from 'ava';
import { empty, fans, fill, full, kaimingNormal, ones, ParameterArena, rand, randn, tensor, zeros, ops } from '../lib';
import { codeOf } from './helpers';

test('tensors round-trip every dtype through native memory', (t) => {
  const cases = [
    new Float32Array([1.5, -2, 3.25, 0, 1e-30, 3e38]),
    BigInt64Array.from([1n, -2n, 9007199254740993n, 0n, -(2n ** 63n), 2n ** 63n - 1n]),
    Int32Array.from([1, -2, 3, 0, -(2 ** 31), 2 ** 31 - 1]),
    Uint8Array.from([0, 1, 127, 128, 254, 255]),
  ];
  for (const data of cases) {
    const x = tensor(data, [2, 3]);
    t.deepEqual(x.shape, [2, 3]);
    t.is(x.device, 'cpu');
    t.deepEqual(x.toArray(), data);
    x.dispose();
  }
});

test('shape, dtype, size and toString describe the tensor', (t) => {
  const x = zeros([2, 3, 4], { dtype: 'int32' });
  t.is(x.dtype, 'int32');
  t.is(x.size, 24);
  t.is(String(x), 'Tensor(int32, [2, 3, 4], cpu)');
  t.deepEqual(Array.from(x.toArray() as Int32Array), new Array(24).fill(0));
  x.dispose();
  t.true(x.disposed);
  t.is(String(x), 'Tensor(int32, [2, 3, 4], cpu, disposed)');
  x.dispose(); // twice is harmless
});

test('scalars and empty tensors are allowed; ops refuse empty ones', (t) => {
  const s = full([], 7);
  t.deepEqual(s.shape, []);
  t.deepEqual(Array.from(s.toArray() as Float32Array), [7]);
  const e = empty([0, 3]);
  t.is(e.size, 0);
  t.is((e.toArray() as Float32Array).length, 0);
  const x = zeros([0, 4, 4, 2]);
  t.is(codeOf(() => ops.globalAvgPoolForward(x)), 'SENET_SHAPE');
  for (const v of [s, e, x]) v.dispose();
});

test('set overwrites in place; views and reshape share memory', (t) => {
  const x = zeros([6]);
  x.set(Float32Array.from([1, 2, 3, 4, 5, 6]));
  const v = x.view(2, [2, 2]);
  t.true(v.isView);
  t.deepEqual(Array.from(v.toArray() as Float32Array), [3, 4, 5, 6]);
  fill(v, 9);
  t.deepEqual(Array.from(x.toArray() as Float32Array), [1, 2, 9, 9, 9, 9]);
  const r = x.reshape([3, 2]);
  t.deepEqual(r.shape, [3, 2]);
  t.is(codeOf(() => x.reshape([4, 2])), 'SENET_SHAPE');
  t.is(codeOf(() => x.view(3, [4])), 'SENET_SHAPE');
  // Disposing the owner frees the memory: every view reports it.
  x.dispose();
  t.true(v.disposed);
  t.is(codeOf(() => v.toArray()), 'SENET_DISPOSED');
  v.dispose();
  r.dispose();
});

test('seeded fills are deterministic, differ between seeds, and have the right moments', (t) => {
  const a = randn([100000], { seed: 42 });
  const b = randn([100000], { seed: 42 });
  const c = randn([100000], { seed: 43 });
  const av = a.toArray() as Float32Array;
  t.deepEqual(av, b.toArray());
  t.notDeepEqual(av, c.toArray());
  const mean = av.reduce((s, v) => s + v, 0) / av.length;
  const std = Math.sqrt(av.reduce((s, v) => s + (v - mean) ** 2, 0) / av.length);
  t.true(Math.abs(mean) < 0.01, `mean ${mean}`);
  t.true(Math.abs(std - 1) < 0.01, `std ${std}`);
  const u = rand([100000], { seed: 1, low: -2, high: 2 });
  const uv = u.toArray() as Float32Array;
  t.true(uv.every((v) => v >= -2 && v < 2));
  t.true(Math.abs(uv.reduce((s, v) => s + v, 0) / uv.length) < 0.02);
  for (const x of [a, b, c, u]) x.dispose();
});

test('kaimingNormal uses fan-out = Cout·kH·kW by default, as timm initialises convs', (t) => {
  t.deepEqual(fans([64, 3, 3, 4]), { fanIn: 36, fanOut: 576 });
  t.deepEqual(fans([10, 2048]), { fanIn: 2048, fanOut: 10 });
  const w = zeros([256, 3, 3, 4]);
  kaimingNormal(w, { seed: 3 });
  const v = w.toArray() as Float32Array;
  const std = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
  t.true(Math.abs(std - Math.sqrt(2 / (256 * 9))) / Math.sqrt(2 / (256 * 9)) < 0.03, `std ${std}`);
  w.dispose();
});

test('a parameter arena places named views at aligned offsets in two arenas of one layout', (t) => {
  const arena = ParameterArena.create([
    { name: 'conv1.weight', shape: [8, 3, 3, 3] },
    { name: 'bn1.weight', shape: [8] },
    { name: 'fc.weight', shape: [10, 8] },
  ]);
  t.deepEqual(arena.entries.map((e) => e.offset), [0, 224, 240]);
  t.is(arena.length, 320);
  const fc = arena.get('fc.weight');
  fill(fc.value, 2);
  fill(fc.grad, 1);
  t.deepEqual(Array.from(fc.value.toArray() as Float32Array), new Array(80).fill(2));
  // One SGD call over the whole arena moves exactly the parameters whose gradient is set.
  ops.sgdStep(arena.values, arena.grads, null, { lr: 0.5 });
  t.deepEqual(Array.from(fc.value.toArray() as Float32Array), new Array(80).fill(1.5));
  t.deepEqual(Array.from(arena.get('bn1.weight').value.toArray() as Float32Array), new Array(8).fill(0));
  t.is(codeOf(() => arena.get('nope')), 'SENET_ARGUMENT');
  t.is(codeOf(() => ParameterArena.create([{ name: 'a', shape: [1] }, { name: 'a', shape: [2] }])), 'SENET_ARGUMENT');
  arena.dispose();
  t.true(fc.value.disposed && fc.grad.disposed);
});

test('ones, full and fill on integer dtypes', (t) => {
  const a = ones([3], { dtype: 'uint8' });
  t.deepEqual(Array.from(a.toArray() as Uint8Array), [1, 1, 1]);
  const b = full([2], 5, { dtype: 'int64' });
  t.deepEqual(Array.from(b.toArray() as BigInt64Array), [5n, 5n]);
  a.dispose();
  b.dispose();
});

test('nonFiniteCount counts NaN and infinities, and with accumulate adds to its output', async (t) => {
  const bad = tensor(Float32Array.of(1, NaN, -Infinity, 2, Infinity), [5]);
  const good = tensor(Float32Array.of(0, -3), [2]);
  const count = ops.nonFiniteCount([bad, good]);
  t.is((await count.data())[0], 3);
  ops.nonFiniteCount([good], count);
  t.is((await count.data())[0], 0, 'without accumulate the count starts over');
  ops.nonFiniteCount([bad], count, { accumulate: true });
  ops.nonFiniteCount([good], count, { accumulate: true });
  ops.nonFiniteCount([bad], count, { accumulate: true });
  t.is((await count.data())[0], 6, 'a flag stays set for the ops queued after it');
  count.set(Int32Array.of(2147483646));
  ops.nonFiniteCount([bad], count, { accumulate: true });
  t.is((await count.data())[0], 2147483647, 'saturates');
  const e = t.throws(() => ops.nonFiniteCount([bad], undefined, { accumulate: true }));
  t.is((e as { code?: string }).code, 'SENET_ARGUMENT');
  t.regex(e!.message, /out: expected a Tensor to add to/);
  for (const x of [bad, good, count]) x.dispose();
});
