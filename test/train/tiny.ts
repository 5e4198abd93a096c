/**
 * A tiny network and an easy synthetic dataset, so that training tests run in seconds.
 */
import * as path from 'node:path';
import { createModel, SGD, Trainer, type SEResNeXtConfig } from '../../lib';
import { BatchLoader, type ImageDataset } from '../../lib/data';
import { tempDir } from '../data/helpers';

/** Two stages, one block each, four groups: every kind of layer, a few thousand parameters. */
export const TINY: SEResNeXtConfig = {
  layers: [1, 1],
  channels: [8, 16],
  cardinality: 2,
  baseWidth: 16,
  stemWidth: 8,
  stem: 'cifar',
  inChannels: 1,
  numClasses: 2,
};

/** Images 8×8×1: class 1 has a bright left half, class 0 a bright right half, plus noise. */
export function stripes(count: number, seed = 1): ImageDataset {
  const h = 8, w = 8;
  const images = new Uint8Array(count * h * w);
  const labels = new Uint8Array(count);
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < count; i++) {
    const label = i % 2;
    labels[i] = label;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const bright = label === 1 ? x < w / 2 : x >= w / 2;
        images[(i * h + y) * w + x] = Math.min(255, (bright ? 150 : 40) + Math.floor(rnd() * 60));
      }
  }
  return { name: 'stripes', images, labels, count, height: h, width: w, channels: 1, classes: ['right', 'left'] };
}

/** Augmentation for TINY's 8x8x1 images: none, only the normalisation. */
export const TINY_AUG = { cropPadding: 0, flip: false, mean: [0.4], std: [0.25] };

/** A real training checkpoint of TINY after one epoch of two steps; returns its path. */
export async function tinyCheckpoint(): Promise<string> {
  const dir = tempDir('senet-tiny-ck-');
  const model = createModel(TINY, { device: 'cpu', seed: 1 });
  const sgd = new SGD(model, { lr: 0.05, momentum: 0.9 });
  const trainer = new Trainer(model, sgd, { outDir: dir, progress: 'none' });
  const train = new BatchLoader(stripes(32, 1), { batchSize: 16, shuffle: true, augment: TINY_AUG, seed: 1, workers: 0 });
  await trainer.fit({ train, imageSize: [8, 8], epochs: 1 });
  trainer.dispose();
  sgd.dispose();
  model.dispose();
  return path.join(dir, 'checkpoint.safetensors');
}
