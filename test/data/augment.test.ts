import test from 'ava';
import { DATASET_NORMALIZATION, DEFAULT_AUGMENT, augmentOptions, makeBatch, type AugmentOptions } from '../../lib/data';
import { bytes, syntheticDataset, thrown } from './helpers';

const H = 6;
const W = 5;
const C = 3;
const mean = [0.4914, 0.4822, 0.4465];
const std = [0.247, 0.2435, 0.2616];
// Bytes 1..255 so that a zero-padded pixel can't be mistaken for image content.
const ds = syntheticDataset(400, H, W, C);
ds.images = bytes(400 * H * W * C, 3, 255).map((b) => b + 1);

const norm = (b: number, c: number) => Math.fround((b / 255 - mean[c]) / std[c]);
const all = Array.from({ length: ds.count }, (_, i) => i);

/** The normalised image `idx` shifted by (dy, dx) (then mirrored), with zeros outside. */
function reference(idx: number, dy: number, dx: number, mirror: boolean): Float32Array {
  const out = new Float32Array(H * W * C);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const sy = y + dy;
      const sx = (mirror ? W - 1 - x : x) + dx;
      const inside = sy >= 0 && sy < H && sx >= 0 && sx < W;
      for (let c = 0; c < C; c++) {
        out[(y * W + x) * C + c] = norm(inside ? ds.images[((idx * H + sy) * W + sx) * C + c] : 0, c);
      }
    }
  }
  return out;
}

function same(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

/** Which (dy, dx, mirror) explains image k of the batch, or null. */
function explain(images: Float32Array, k: number, idx: number, pad: number, flips: boolean): string | null {
  const got = images.subarray(k * H * W * C, (k + 1) * H * W * C);
  for (let dy = -pad; dy <= pad; dy++) {
    for (let dx = -pad; dx <= pad; dx++) {
      for (const mirror of flips ? [false, true] : [false]) {
        if (same(got, reference(idx, dy, dx, mirror))) return `${dy},${dx},${mirror}`;
      }
    }
  }
  return null;
}

test('no augmentation: exactly (byte/255 - mean)/std; null: byte/255', (t) => {
  const indices = [5, 0, 399, 5, 17];
  const opts: AugmentOptions = { cropPadding: 0, flip: false, mean, std };
  const b = makeBatch(ds, indices, opts, 1, 0, 7);
  t.is(b.size, 5);
  t.is(b.index, 7);
  t.deepEqual(Array.from(b.labels), indices.map((i) => ds.labels[i]));
  indices.forEach((idx, k) => t.true(same(b.images.subarray(k * H * W * C, (k + 1) * H * W * C), reference(idx, 0, 0, false)), `image ${k}`));
  const plain = makeBatch(ds, [3], null, 1, 0, 0);
  t.true(plain.images.every((v, i) => v === Math.fround(ds.images[3 * H * W * C + i] / 255)));
});

test('flip mirrors rows, about half of the time', (t) => {
  const b = makeBatch(ds, all, { cropPadding: 0, flip: true, mean, std }, 9, 0, 0);
  let mirrored = 0;
  for (let k = 0; k < ds.count; k++) {
    const e = explain(b.images, k, k, 0, true);
    if (e === null) return t.fail(`image ${k} is neither itself nor its mirror`);
    if (e.endsWith('true')) mirrored++;
  }
  t.true(mirrored > 150 && mirrored < 250, `${mirrored} of 400 mirrored`);
});

test('crop with padding shifts content and fills the border with normalised zeros; every offset occurs', (t) => {
  const pad = 2;
  const b = makeBatch(ds, all, { cropPadding: pad, flip: false, mean, std }, 9, 0, 0);
  const seen = new Set<string>();
  for (let k = 0; k < ds.count; k++) {
    const e = explain(b.images, k, k, pad, false);
    if (e === null) return t.fail(`image ${k} is no shift of itself`);
    seen.add(e);
  }
  t.is(seen.size, 25);
  // A shifted image has the normalised value of byte 0 along its border.
  const zero = norm(0, 0);
  t.true(b.images.some((v, i) => i % C === 0 && v === zero));
});

test('crop and flip together: a shifted crop, then mirrored', (t) => {
  const b = makeBatch(ds, all, { cropPadding: 1, flip: true, mean, std }, 3, 2, 0);
  const seen = new Set<string>();
  for (let k = 0; k < ds.count; k++) {
    const e = explain(b.images, k, k, 1, true);
    if (e === null) return t.fail(`image ${k} unexplained`);
    seen.add(e);
  }
  t.is(seen.size, 18);
});

test('random choices depend only on (seed, epoch, index), not on the batch', (t) => {
  const opts: AugmentOptions = { cropPadding: 2, flip: true, mean, std };
  const n = H * W * C;
  const whole = makeBatch(ds, all, opts, 5, 3, 0);
  const part = makeBatch(ds, [250, 7, 7, 100], opts, 5, 3, 11);
  [250, 7, 7, 100].forEach((idx, k) => t.true(same(part.images.subarray(k * n, (k + 1) * n), whole.images.subarray(idx * n, (idx + 1) * n))));
  t.true(same(makeBatch(ds, all, opts, 5, 3, 4).images, whole.images), 'batchIndex does not matter');
  const differs = (a: Float32Array) => !same(a, whole.images);
  t.true(differs(makeBatch(ds, all, opts, 5, 4, 0).images), 'epochs differ');
  t.true(differs(makeBatch(ds, all, opts, 6, 3, 0).images), 'seeds differ');
});

test('out storage, bad options and indices', (t) => {
  const opts: AugmentOptions = { cropPadding: 1, flip: true, mean, std };
  const out = { images: new Float32Array(10 * H * W * C), labels: new Int32Array(10) };
  const b = makeBatch(ds, [1, 2, 3], opts, 1, 0, 0, out);
  t.is(b.images.buffer, out.images.buffer);
  t.is(b.images.length, 3 * H * W * C);
  t.true(same(b.images, makeBatch(ds, [1, 2, 3], opts, 1, 0, 0).images));
  t.is(thrown(() => makeBatch(ds, [1], opts, 1, 0, 0, { images: new Float32Array(3), labels: new Int32Array(1) })).code, 'SENET_ARGUMENT');
  t.regex(thrown(() => makeBatch(ds, [400], opts, 1, 0, 0)).message, /makeBatch: indices\[0\]: expected an integer in \[0, 399\], received number 400/);
  t.is(thrown(() => makeBatch(ds, [1], { ...opts, mean: [0.5] }, 1, 0, 0)).code, 'SENET_ARGUMENT');
  t.is(thrown(() => makeBatch(ds, [1], { ...opts, std: [1, 0, 1] }, 1, 0, 0)).code, 'SENET_ARGUMENT');
  t.is(thrown(() => makeBatch(ds, [1], { ...opts, cropPadding: -1 }, 1, 0, 0)).code, 'SENET_ARGUMENT');
  t.is(thrown(() => makeBatch(ds, [1], opts, 1, -1, 0)).code, 'SENET_ARGUMENT');
  t.is(makeBatch(ds, [], opts, 1, 0, 0).size, 0);
});

test('per-dataset defaults and normalisation constants', (t) => {
  t.deepEqual(DEFAULT_AUGMENT['fashion-mnist'], { cropPadding: 2, flip: true });
  t.deepEqual(DEFAULT_AUGMENT.mnist, { cropPadding: 2, flip: false });
  t.deepEqual(DEFAULT_AUGMENT.cifar10, { cropPadding: 4, flip: true });
  t.deepEqual(DATASET_NORMALIZATION['fashion-mnist'], { mean: [0.286], std: [0.353] });
  t.deepEqual(DATASET_NORMALIZATION.mnist, { mean: [0.1307], std: [0.3081] });
  t.deepEqual(DATASET_NORMALIZATION.cifar10, { mean, std });
  t.deepEqual(augmentOptions('cifar10', true), { cropPadding: 4, flip: true, mean, std });
  t.deepEqual(augmentOptions('mnist', false), { cropPadding: 0, flip: false, mean: [0.1307], std: [0.3081] });
});
