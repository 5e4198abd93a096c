/**
 * Turning dataset bytes into a normalised float batch, with optional random crop and flip. Pure:
 * the same arguments give the same bits on any thread.
 */
import { checkBool, checkInt, checkNumber, describe, fail } from '../validate';
import type { DatasetName, ImageSource } from './dataset';
import { draw, seedKey, STREAM_CROP_X, STREAM_CROP_Y, STREAM_FLIP } from './random';

/** How images are augmented and normalised. */
export interface AugmentOptions {
  /** Random crop of the original size from the image zero-padded by this much on each side (0 = off). */
  cropPadding: number;
  /** Random horizontal flip with probability 1/2. */
  flip: boolean;
  /** Per-channel mean; output = (byte/255 - mean) / std. */
  mean: number[];
  /** Per-channel standard deviation, > 0. */
  std: number[];
}

/** A batch ready for the model. */
export interface Batch {
  /** (size, height, width, channels), normalised. */
  images: Float32Array;
  labels: Int32Array;
  /** Number of images. */
  size: number;
  /** Batch number in the epoch. */
  index: number;
}

/**
 * A batch of augmented bytes (makeByteBatch, a BatchLoader with `bytes: true`): a quarter of a
 * float batch's size to copy to the device, normalised there (the Trainer runs
 * ops.normalizeBytes with `normalize`) to the same float32 values makeBatch writes.
 */
export interface ByteBatch {
  /** (size, height, width, channels) bytes, cropped and flipped; crop padding is byte 0, as torchvision pads before normalising. */
  images: Uint8Array;
  labels: Int32Array;
  size: number;
  index: number;
  /** (channels, 256): the model's input for byte b of channel c, at c * 256 + b. */
  normalize: Float32Array;
}

/** Caller-provided storage for makeBatch's output. */
export interface BatchStorage {
  images: Float32Array;
  labels: Int32Array;
}

/** Training augmentation per dataset; evaluation uses cropPadding 0, flip false. */
export const DEFAULT_AUGMENT: Record<DatasetName, Omit<AugmentOptions, 'mean' | 'std'>> = {
  // Clothes are left-right symmetric enough to flip.
  'fashion-mnist': { cropPadding: 2, flip: true },
  // Mirrored digits are not digits.
  mnist: { cropPadding: 2, flip: false },
  cifar10: { cropPadding: 4, flip: true },
};

/** Validates augmentation options for images with `channels` channels; returns a copy. */
export function checkAugment(where: string, options: unknown, channels: number): AugmentOptions | null {
  if (options === null) return null;
  if (typeof options !== 'object' || Array.isArray(options)) fail('SENET_ARGUMENT', where, 'augment', 'an object or null', describe(options));
  const o = options as Partial<AugmentOptions>;
  const cropPadding = checkInt(where, 'augment.cropPadding', o.cropPadding, 0, 1024);
  const flip = checkBool(where, 'augment.flip', o.flip);
  const perChannel = (what: 'mean' | 'std', min: number) => {
    const v: unknown = o[what];
    if (!Array.isArray(v) || v.length !== channels) fail('SENET_ARGUMENT', where, `augment.${what}`, `an array of ${channels} numbers (one per channel)`, describe(v));
    return v.map((x, i) => checkNumber(where, `augment.${what}[${i}]`, x, min));
  };
  const mean = perChannel('mean', -Infinity);
  const std = perChannel('std', Number.MIN_VALUE);
  return { cropPadding, flip, mean, std };
}

/**
 * Normalises (and, with `options`, augments) the images of `ds` at `indices` into a batch.
 * `options` null means no augmentation and mean 0, std 1 (bytes / 255). The random crop and flip
 * of an image depend only on (seed, epoch, its index in `ds`) — or its entry in `keys`, when
 * `ds` holds just this batch's images. `out`, when given, must hold at least the batch; the
 * batch's arrays are views of it.
 */
export function makeBatch(
  ds: ImageSource,
  indices: ArrayLike<number>,
  options: AugmentOptions | null,
  seed: number,
  epoch: number,
  batchIndex: number,
  out?: BatchStorage,
  keys?: ArrayLike<number>,
): Batch {
  const where = 'makeBatch';
  const { height: h, width: w, channels: c } = ds;
  const opts = checkBatchArgs(where, ds, indices, options, seed, epoch, batchIndex);
  const n = indices.length;
  const size = h * w * c;
  let images: Float32Array;
  let labels: Int32Array;
  if (out) {
    if (!(out.images instanceof Float32Array) || out.images.length < n * size) fail('SENET_ARGUMENT', where, 'out.images', `a Float32Array of >= ${n * size}`, describe(out.images));
    if (!(out.labels instanceof Int32Array) || out.labels.length < n) fail('SENET_ARGUMENT', where, 'out.labels', `an Int32Array of >= ${n}`, describe(out.labels));
    images = out.images.subarray(0, n * size);
    labels = out.labels.subarray(0, n);
  } else {
    images = new Float32Array(n * size);
    labels = new Int32Array(n);
  }
  assemble(ds, indices, opts, seed, epoch, images, labels, normalizeTable(opts, c), keys);
  return { images, labels, size: n, index: batchIndex };
}

/**
 * makeBatch's crop and flip without its normalisation: the batch's bytes and the table that
 * normalises them (ops.normalizeBytes on the device gives makeBatch's values bit for bit).
 */
export function makeByteBatch(
  ds: ImageSource,
  indices: ArrayLike<number>,
  options: AugmentOptions | null,
  seed: number,
  epoch: number,
  batchIndex: number,
  keys?: ArrayLike<number>,
): ByteBatch {
  const opts = checkBatchArgs('makeByteBatch', ds, indices, options, seed, epoch, batchIndex);
  const n = indices.length;
  const images = new Uint8Array(n * ds.height * ds.width * ds.channels);
  const labels = new Int32Array(n);
  assemble(ds, indices, opts, seed, epoch, images, labels, identityTable(ds.channels), keys);
  return { images, labels, size: n, index: batchIndex, normalize: normalizeTable(opts, ds.channels) };
}

/** The input table of makeByteBatch's batches: (byte/255 - mean) / std at channel * 256 + byte. */
export function normalizationTable(options: AugmentOptions | null, channels: number): Float32Array {
  checkInt('normalizationTable', 'channels', channels, 1, 4096);
  return normalizeTable(checkAugment('normalizationTable', options, channels), channels);
}

function checkBatchArgs(where: string, ds: ImageSource, indices: ArrayLike<number>, options: AugmentOptions | null, seed: number, epoch: number, batchIndex: number): AugmentOptions | null {
  const opts = checkAugment(where, options, ds.channels);
  checkInt(where, 'seed', seed, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  checkInt(where, 'epoch', epoch, 0, 0x7fffffff);
  checkInt(where, 'batchIndex', batchIndex, 0);
  for (let k = 0; k < indices.length; k++) checkInt(where, `indices[${k}]`, indices[k], 0, ds.count - 1);
  return opts;
}

// Writes the images at `indices`, cropped and flipped, through `lut` (channel * 256 + byte): the
// normalised floats, or the bytes themselves (identityTable).
function assemble(ds: ImageSource, indices: ArrayLike<number>, opts: AugmentOptions | null, seed: number, epoch: number, images: Float32Array | Uint8Array, labels: Int32Array, lut: Float32Array | Uint8Array, keys: ArrayLike<number> | undefined): void {
  const { height: h, width: w, channels: c } = ds;
  const n = indices.length;
  const size = h * w * c;
  const pad = opts ? opts.cropPadding : 0;
  const flip = opts ? opts.flip : false;
  const key = seedKey(seed);
  const src = ds.images;
  for (let k = 0; k < n; k++) {
    const idx = indices[k];
    labels[k] = ds.labels[idx];
    const from = idx * size;
    const to = k * size;
    if (pad === 0 && !flip) {
      for (let i = 0; i < size; i += c) {
        for (let ch = 0; ch < c; ch++) images[to + i + ch] = lut[(ch << 8) | src[from + i + ch]];
      }
      continue;
    }
    // Offsets into the padded image, in [0, 2*pad]; shifting by -pad maps back to the original.
    const id = keys ? keys[k]! : idx;
    const dy = pad > 0 ? (draw(key, epoch, id, STREAM_CROP_Y) % (2 * pad + 1)) - pad : 0;
    const dx = pad > 0 ? (draw(key, epoch, id, STREAM_CROP_X) % (2 * pad + 1)) - pad : 0;
    const mirror = flip && (draw(key, epoch, id, STREAM_FLIP) & 1) === 1;
    for (let y = 0; y < h; y++) {
      const sy = y + dy;
      for (let x = 0; x < w; x++) {
        // Crop first, then flip the crop (torchvision's RandomCrop then RandomHorizontalFlip).
        const sx = (mirror ? w - 1 - x : x) + dx;
        const o = to + (y * w + x) * c;
        if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
          for (let ch = 0; ch < c; ch++) images[o + ch] = lut[ch << 8];
        } else {
          const s = from + (sy * w + sx) * c;
          for (let ch = 0; ch < c; ch++) images[o + ch] = lut[(ch << 8) | src[s + ch]];
        }
      }
    }
  }
}

function identityTable(channels: number): Uint8Array {
  const t = new Uint8Array(channels * 256);
  for (let i = 0; i < t.length; i++) t[i] = i & 255;
  return t;
}

/** (byte/255 - mean) / std for every byte of every channel, at index channel*256 + byte. */
function normalizeTable(opts: AugmentOptions | null, channels: number): Float32Array {
  const lut = new Float32Array(channels * 256);
  for (let ch = 0; ch < channels; ch++) {
    const mean = opts ? opts.mean[ch] : 0;
    const std = opts ? opts.std[ch] : 1;
    for (let b = 0; b < 256; b++) lut[ch * 256 + b] = (b / 255 - mean) / std;
  }
  return lut;
}
