/**
 * From images to labels: decode and preprocess as the model was trained, run it in inference
 * mode, softmax, and the top k classes of each image. Nothing blocks the event loop: images are
 * decoded on libuv's pool, the network runs on the device's executor, results are awaited.
 */
import type { SEResNeXt } from '../nn';
import * as ops from '../ops';
import { tensor } from '../tensor';
import { checkInt, checkOptions, describe, fail } from '../validate';
import type { ImageInput } from '../images/decode';
import { imagesToBatch, type Preprocessing } from './preprocessing';

/** One class of an image's prediction. */
export interface Prediction {
  /** The class name (preprocessing.classes), or its index as a string when the model has none. */
  label: string;
  /** The class index (the model's output). */
  index: number;
  /** Softmax probability in [0, 1]. */
  probability: number;
}

/** Options of predict(). */
export interface PredictOptions {
  /** Classes per image, most probable first; default 5 (at most the number of classes). */
  topK?: number;
  /** Images per forward pass; default 32. */
  batchSize?: number;
}

/** The k largest probabilities of one row, highest first (ties: the lower index first). */
export function topK(probabilities: Float32Array, k: number, classes: readonly string[]): Prediction[] {
  const idx = Array.from({ length: probabilities.length }, (_, i) => i);
  idx.sort((a, b) => probabilities[b]! - probabilities[a]! || a - b);
  return idx.slice(0, k).map((i) => ({ label: classes[i] ?? String(i), index: i, probability: probabilities[i]! }));
}

/** The top-k classes of each image, in batches, with the model in inference mode. */
export async function predictImages(model: SEResNeXt, images: readonly ImageInput[], p: Preprocessing, options?: PredictOptions): Promise<Prediction[][]> {
  const where = 'SEResNeXt.predict';
  const o = checkOptions(where, options);
  const k = Math.min(checkInt(where, 'topK', o.topK ?? 5, 1), model.config.numClasses);
  const batchSize = checkInt(where, 'batchSize', o.batchSize ?? 32, 1);
  if (!Array.isArray(images)) fail('SENET_ARGUMENT', where, 'images', 'an array of images', describe(images));
  const wasTraining = model.training;
  model.eval();
  const out: Prediction[][] = [];
  try {
    for (let start = 0; start < images.length; start += batchSize) {
      const chunk = images.slice(start, start + batchSize);
      const pixels = await imagesToBatch(chunk, p, where);
      using x = tensor(pixels, [chunk.length, p.height, p.width, p.channels], { device: model.device });
      using logits = model.forward(x);
      using probabilities = ops.softmax(logits);
      const rows = await probabilities.data();
      const classes = model.config.numClasses;
      for (let i = 0; i < chunk.length; i++) out.push(topK(rows.subarray(i * classes, (i + 1) * classes), k, p.classes));
    }
  } finally {
    if (wasTraining) model.train();
  }
  return out;
}
