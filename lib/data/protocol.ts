/**
 * Messages between BatchLoader and its worker threads.
 */
import type { AugmentOptions } from './augment';
import type { FileSource } from './file_batch';

/**
 * Given to each worker once, at start: the dataset (its bytes in shared memory, or for an image
 * folder its file list and labels) and the fixed batch options.
 */
export interface WorkerInit {
  /** images (count*height*width*channels bytes) followed by labels (count bytes); null for files. */
  shared: SharedArrayBuffer | null;
  /** An image folder's files and labels, decoded per batch; null for bytes. */
  files: FileSource | null;
  count: number;
  height: number;
  width: number;
  channels: number;
  augment: AugmentOptions | null;
  seed: number;
  /** Batches of bytes (makeByteBatch), normalised on the model's device. */
  bytes: boolean;
}

/** One batch to prepare; `indices` is transferred. */
export interface WorkerJob {
  id: number;
  epoch: number;
  batchIndex: number;
  indices: Uint32Array;
}

/** A prepared batch (its arrays transferred) or the error that prevented it. */
export type WorkerReply =
  | { id: number; images: Float32Array | Uint8Array; labels: Int32Array; size: number; index: number }
  | { id: number; error: { message: string; code?: string; stack?: string } };
