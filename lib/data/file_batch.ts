/**
 * A batch of an image-folder dataset: its files decoded (and resized to the training size) by
 * sharp, then normalised and augmented exactly as in-memory images are (makeBatch), with the
 * random draws keyed by each image's index in the dataset.
 */
import { decodeImage } from '../images/decode';
import { makeBatch, makeByteBatch, type AugmentOptions, type Batch, type ByteBatch } from './augment';
import type { ImageSource } from './dataset';

/** What a worker (or the main thread) needs to make batches of a folder dataset. */
export interface FileSource {
  files: string[];
  labels: Int32Array;
  height: number;
  width: number;
  channels: number;
}

/** Files decoded at once per batch (sharp works on libuv's pool). */
const CONCURRENCY = 4;

/** Decodes the images at `indices` and makes their batch (of bytes, with `bytes`: makeByteBatch). */
export async function makeFileBatch(src: FileSource, indices: Uint32Array, augment: AugmentOptions | null, seed: number, epoch: number, batchIndex: number, bytes = false): Promise<Batch | ByteBatch> {
  const { height, width, channels } = src;
  const size = height * width * channels;
  const n = indices.length;
  const images = new Uint8Array(n * size);
  let next = 0;
  const worker = async () => {
    for (let k = next++; k < n; k = next++) {
      const bytes = await decodeImage(src.files[indices[k]!]!, src, 'BatchLoader');
      images.set(bytes, k * size);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
  const batch: ImageSource = { images, labels: Int32Array.from(indices, (i) => src.labels[i]!), count: n, height, width, channels };
  const local = Uint32Array.from({ length: n }, (_, k) => k);
  return bytes ? makeByteBatch(batch, local, augment, seed, epoch, batchIndex, indices) : makeBatch(batch, local, augment, seed, epoch, batchIndex, undefined, indices);
}
