import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { createModel, loadModel, ops, randn, tensor, type Preprocessing, type SEResNeXtConfig } from '../../lib';
import { augmentOptions, loadDatasetSync, makeBatch } from '../../lib/data';
import { maxRelError } from '../reference';

const TINY: SEResNeXtConfig = { layers: [1, 1], channels: [8, 16], cardinality: 2, baseWidth: 16, stemWidth: 8, stem: 'cifar', inChannels: 3, numClasses: 4 };
const PREP: Preprocessing = { height: 12, width: 10, channels: 3, mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3], classes: ['a', 'b', 'c', 'd'] };

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function softmax64(row: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(row));
  const e = Array.from(row, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function rawImage(seed: number, w = PREP.width, h = PREP.height): { data: Uint8Array; width: number; height: number; channels: 3 } {
  const data = new Uint8Array(w * h * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) data[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
  return { data, width: w, height: h, channels: 3 };
}

test('ops.softmax matches a float64 softmax, rows sum to 1, extreme logits stay finite', async (t) => {
  const values = Float32Array.from([1, 2, 3, -1, 0, 0, 0, 0, 1000, -1000, 3, 2, 88, 89, 90, -90]);
  const logits = tensor(values, [4, 4]);
  const p = await ops.softmax(logits).data();
  for (let r = 0; r < 4; r++) {
    const want = softmax64(values.subarray(r * 4, r * 4 + 4));
    t.true(maxRelError(Array.from(p.subarray(r * 4, r * 4 + 4)), want) < 1e-6, `row ${r}`);
  }
  t.true(p.every(Number.isFinite));
  t.throws(() => ops.softmax(tensor(values, [16])), { code: 'SENET_SHAPE' });
});

test('predict: the top-k probabilities are the float64 softmax of the model’s logits on the preprocessed images', async (t) => {
  const model = createModel(TINY, { device: 'cpu', seed: 3 });
  model.preprocessing = PREP;
  const images = [rawImage(1), rawImage(2), rawImage(3)];
  const got = await model.predict(images, { topK: 3, batchSize: 2 });
  t.is(got.length, 3);
  // The same input by hand: bytes / 255, normalised per channel, channels-last.
  const size = PREP.height * PREP.width * 3;
  const x = new Float32Array(3 * size);
  images.forEach((im, i) => im.data.forEach((b, j) => (x[i * size + j] = (b / 255 - PREP.mean[j % 3]!) / PREP.std[j % 3]!)));
  model.eval();
  const logits = await model.forward(tensor(x, [3, PREP.height, PREP.width, 3])).data();
  for (let i = 0; i < 3; i++) {
    const want = softmax64(logits.subarray(i * 4, i * 4 + 4));
    const order = want.map((p, k) => [p, k] as const).sort((a, b) => b[0] - a[0]);
    t.deepEqual(got[i]!.map((p) => p.index), order.slice(0, 3).map(([, k]) => k));
    for (const p of got[i]!) {
      t.is(p.label, PREP.classes[p.index]);
      t.true(Math.abs(p.probability - want[p.index]!) < 1e-6, `${p.probability} vs ${want[p.index]}`);
    }
  }
  // One image gives one list; topK beyond the classes gives them all.
  const one = await model.predict(images[0]!, { topK: 10 });
  t.is(one.length, 4);
  t.deepEqual(one.slice(0, 3), got[0]);
  model.dispose();
});

test('predict decodes files: a PNG, a JPEG and a WebP of another size are resized to cover and center-cropped', async (t) => {
  const dir = tmp('senet-predict-');
  const model = createModel(TINY, { device: 'cpu', seed: 4 });
  model.preprocessing = PREP;
  const big = rawImage(9, 40, 30);
  const files = [];
  for (const fmt of ['png', 'jpeg', 'webp'] as const) {
    const f = path.join(dir, `x.${fmt}`);
    await sharp(Buffer.from(big.data), { raw: { width: 40, height: 30, channels: 3 } })[fmt]().toFile(f);
    files.push(f);
  }
  const preds = await model.predict(files, { topK: 2 });
  t.is(preds.length, 3);
  for (const p of preds) t.true(p[0]!.probability >= p[1]!.probability && p[0]!.probability <= 1);
  // Errors: a file that is not an image, one that does not exist, and no preprocessing.
  const junk = path.join(dir, 'junk.png');
  fs.writeFileSync(junk, 'not an image');
  await t.throwsAsync(model.predict(junk), { code: 'SENET_FORMAT' });
  await t.throwsAsync(model.predict(path.join(dir, 'missing.png')), { code: 'SENET_IO' });
  const bare = createModel(TINY, { device: 'cpu' });
  await t.throwsAsync(bare.predict(files[0]!), { code: 'SENET_ARGUMENT' });
  t.throws(() => (bare.preprocessing = { ...PREP, classes: ['just one'] }), { code: 'SENET_ARGUMENT' });
  bare.dispose();
  model.dispose();
});

const FASHION = '/usr/share/datasets/fashion-mnist';
const fashionTest = fs.existsSync(FASHION) ? test : test.skip;
fashionTest(`a Fashion-MNIST test image written to PNG and read back gives the logits of the same image from the IDX file${fs.existsSync(FASHION) ? '' : ' [skipped: no dataset in ' + FASHION + ']'}`, async (t) => {
  const { test: ds } = loadDatasetSync('fashion-mnist');
  const model = createModel('seresnext26_8x8d', { device: 'cpu', numClasses: 10, inChannels: 1, seed: 5 });
  const aug = augmentOptions('fashion-mnist', false);
  model.preprocessing = { height: 28, width: 28, channels: 1, mean: aug.mean, std: aug.std, classes: ds.classes };
  model.eval();
  const dir = tmp('senet-fashion-');
  const png = path.join(dir, 'test0.png');
  await sharp(Buffer.from(ds.images.subarray(0, 784)), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(png);
  const batch = makeBatch(ds, [0], aug, 0, 0, 0);
  const fromIdx = await ops.softmax(model.forward(tensor(batch.images, [1, 28, 28, 1]))).data();
  const [fromPng] = await model.predict([png], { topK: 10 });
  for (const p of fromPng!) t.is(p.probability, fromIdx[p.index], `class ${p.label}`);
  t.is(fromPng![0]!.label, ds.classes[fromPng![0]!.index]);
  model.dispose();
});

test('weights out and in: saveWeights / loadWeights / createModel({ weights }) / loadModel, with the preprocessing', async (t) => {
  const dir = tmp('senet-weights-');
  const a = createModel(TINY, { device: 'cpu', seed: 6 });
  a.preprocessing = PREP;
  const file = path.join(dir, 'w.safetensors');
  await a.saveWeights(file);
  const x = randn([2, PREP.height, PREP.width, 3], { seed: 7 });
  a.eval();
  const want = await a.forward(x).data();
  const b = createModel(TINY, { device: 'cpu', seed: 99 });
  await b.loadWeights(file);
  b.eval();
  t.deepEqual(await b.forward(x).data(), want);
  t.deepEqual(b.preprocessing, PREP);
  const c = createModel(TINY, { device: 'cpu', weights: file });
  c.eval();
  t.deepEqual(await c.forward(x).data(), want);
  const d = await loadModel(file, { device: 'cpu' });
  t.false(d.training);
  t.deepEqual(await d.forward(x).data(), want);
  t.deepEqual(d.config, a.config);
  // Keys are timm's alone: no prefix, no optimizer.
  const { readSafetensors } = await import('../../lib/io');
  const keys = [...readSafetensors(file).tensors.keys()];
  t.true(keys.includes('conv1.weight') && keys.includes('fc.bias') && keys.includes('layer1.0.se.fc1.weight'));
  t.false(keys.some((k) => k.startsWith('model.') || k.startsWith('optimizer')));
  // A file without senet's config cannot make a model by itself.
  const { writeSafetensors } = await import('../../lib/io');
  const bare = path.join(dir, 'bare.safetensors');
  writeSafetensors(bare, { 'fc.bias': { dtype: 'F32', shape: [4], data: new Float32Array(4) } });
  await t.throwsAsync(loadModel(bare, { device: 'cpu' }), { code: 'SENET_FORMAT' });
  await t.throwsAsync(b.loadWeights(bare), { code: 'SENET_STATE_DICT' });
  for (const m of [a, b, c, d]) m.dispose();
  x.dispose();
});

test('loadStateDict refuses NaN or infinite weights and negative variances, naming the tensor, and changes nothing', (t) => {
  const m = createModel(TINY, { device: 'cpu', seed: 8 });
  const good = m.stateDict();
  for (const [key, bad] of [['fc.weight', NaN], ['layer1.0.bn2.running_var', -1], ['conv1.weight', Infinity]] as const) {
    const sd = new Map(good);
    const v = (good.get(key)!.data as Float32Array).slice();
    v[1] = bad;
    sd.set(key, { shape: good.get(key)!.shape, data: v });
    const e = t.throws(() => m.loadStateDict(sd), { code: 'SENET_STATE_DICT' });
    t.regex(e!.message, new RegExp(`${key.replace(/\./g, '\\.')}: expected (finite values|variances >= 0), received`));
  }
  t.deepEqual(m.stateDict(), good, 'nothing was loaded');
  t.throws(() => m.loadStateDict(null as never), { code: 'SENET_STATE_DICT' });
  m.dispose();
});

// timm's own model must accept what senet export writes. Needs a Python with torch and timm:
// $SENET_TIMM_PYTHON, or the venv ../shared/fixtures/tools/timm-venv.sh makes.
function timmPython(): string | null {
  for (const py of [process.env['SENET_TIMM_PYTHON'], '/tmp/senet-timm-venv/bin/python', '/usr/bin/python3']) {
    if (py && fs.existsSync(py) && spawnSync(py, ['-c', 'import timm, torch'], { stdio: 'ignore' }).status === 0) return py;
  }
  return null;
}
const py = timmPython();
(py ? test : test.skip)(`timm loads senet's exported seresnext50_32x4d strictly and computes the same logits${py ? '' : ' [skipped: no Python with torch and timm; set SENET_TIMM_PYTHON]'}`, async (t) => {
  const dir = tmp('senet-timm-');
  const model = createModel('seresnext50_32x4d', { device: 'cpu', numClasses: 10, inChannels: 3, seed: 11 });
  const file = path.join(dir, 'w.safetensors');
  await model.saveWeights(file);
  const x = randn([2, 3, 64, 64], { seed: 12 });
  const input = path.join(dir, 'x.f32');
  fs.writeFileSync(input, x.toArray() as Float32Array);
  model.eval();
  const ours = await model.forward(x, { layout: 'nchw' }).data();
  const out = execFileSync(py!, [path.join(__dirname, '..', '..', '..', 'test', 'predict', 'timm_load.py'), file, input, '2', '3', '64', '64', 'seresnext50_32x4d', '10'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const theirs = (JSON.parse(out.trim().split('\n').pop()!) as { logits: number[] }).logits;
  const err = maxRelError(Array.from(ours), theirs);
  t.log(`max relative error senet vs timm: ${err.toExponential(2)}`);
  t.true(err < 1e-4);
  fs.rmSync(dir, { recursive: true, force: true });
  model.dispose();
});
