/**
 * How images become a model's input, as the model was trained: the input size and channels, the
 * per-channel mean and std (of pixel values in [0, 1]) and the class names. Training records it
 * in the checkpoint; `senet export` carries it into the weights file; predict() reads it.
 */
import { checkInt, checkNumber, describe, fail } from '../validate';
import { checkGeometry, decodeImage, normalizeInto, type ImageInput } from '../images/decode';

/** The preprocessing a model was trained with. */
export interface Preprocessing {
  /** Input height and width (images of another size are resized to cover it, then center-cropped). */
  height: number;
  width: number;
  /** 1 (gray) or 3 (RGB). */
  channels: number;
  /** Per-channel mean of pixel values in [0, 1]; input = (pixel / 255 − mean) / std. */
  mean: number[];
  /** Per-channel standard deviation, > 0. */
  std: number[];
  /** Class names by label index. */
  classes: string[];
}

/** Checks a preprocessing record against a model with `numClasses` outputs and `inChannels` inputs. */
export function checkPreprocessing(where: string, p: unknown, numClasses: number, inChannels: number): Preprocessing {
  if (p === null || typeof p !== 'object' || Array.isArray(p)) fail('SENET_ARGUMENT', where, 'preprocessing', 'an object { height, width, channels, mean, std, classes }', describe(p));
  const o = p as Partial<Preprocessing>;
  const g = checkGeometry(where, { height: o.height as number, width: o.width as number, channels: o.channels as number });
  if (g.channels !== inChannels) fail('SENET_ARGUMENT', where, 'preprocessing.channels', `the model's ${inChannels} input channels`, String(g.channels));
  const perChannel = (what: 'mean' | 'std', min: number) => {
    const v: unknown = o[what];
    if (!Array.isArray(v) || v.length !== g.channels) fail('SENET_ARGUMENT', where, `preprocessing.${what}`, `${g.channels} numbers, one per channel`, describe(v));
    return v.map((x, i) => checkNumber(where, `preprocessing.${what}[${i}]`, x, min));
  };
  const mean = perChannel('mean', -Infinity);
  const std = perChannel('std', Number.MIN_VALUE);
  const classes = o.classes;
  if (!Array.isArray(classes) || classes.length !== numClasses || classes.some((c) => typeof c !== 'string')) {
    fail('SENET_ARGUMENT', where, 'preprocessing.classes', `${numClasses} class names (strings), one per output`, describe(classes));
  }
  return { ...g, mean, std, classes: classes.slice() };
}

/**
 * Decodes and normalises images into one batch (n, height, width, channels), channels-last,
 * `concurrency` images at a time (sharp decodes on libuv's thread pool).
 */
export async function imagesToBatch(images: readonly ImageInput[], p: Preprocessing, where: string, concurrency = 8): Promise<Float32Array> {
  checkInt(where, 'concurrency', concurrency, 1);
  const size = p.height * p.width * p.channels;
  const out = new Float32Array(images.length * size);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < images.length; i = next++) {
      const bytes = await decodeImage(images[i]!, p, `${where}: images[${i}]`);
      normalizeInto(bytes, p.mean, p.std, out, i * size);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, images.length) }, worker));
  return out;
}
