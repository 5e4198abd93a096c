/**
 * BatchLoader's worker thread: holds the dataset (shared, never copied; or an image folder's file
 * list) and turns index lists into batches with makeBatch (decoding files first), sending each
 * batch's buffers back without copying.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { makeBatch, makeByteBatch, type Batch, type ByteBatch } from './augment';
import type { ImageSource } from './dataset';
import { makeFileBatch } from './file_batch';
import type { WorkerInit, WorkerJob, WorkerReply } from './protocol';

const init = workerData as WorkerInit;
const imageBytes = init.count * init.height * init.width * init.channels;
const source: ImageSource | null = init.shared
  ? {
      images: new Uint8Array(init.shared, 0, imageBytes),
      labels: new Uint8Array(init.shared, imageBytes, init.count),
      count: init.count,
      height: init.height,
      width: init.width,
      channels: init.channels,
    }
  : null;

function make(job: WorkerJob): Batch | ByteBatch | Promise<Batch | ByteBatch> {
  if (!source) return makeFileBatch(init.files!, job.indices, init.augment, init.seed, job.epoch, job.batchIndex, init.bytes);
  if (init.bytes) return makeByteBatch(source, job.indices, init.augment, init.seed, job.epoch, job.batchIndex);
  return makeBatch(source, job.indices, init.augment, init.seed, job.epoch, job.batchIndex);
}

parentPort?.on('message', async (job: WorkerJob) => {
  let reply: WorkerReply;
  try {
    const batch = await make(job);
    reply = { id: job.id, images: batch.images, labels: batch.labels, size: batch.size, index: batch.index };
    // makeBatch allocated these arrays for this batch alone, so their whole buffers can move (the
    // normalisation table of a byte batch stays: the loader has its own).
    parentPort?.postMessage(reply, [batch.images.buffer as ArrayBuffer, batch.labels.buffer as ArrayBuffer]);
  } catch (err) {
    const e = (typeof err === 'object' && err !== null ? err : {}) as { message?: unknown; code?: unknown; stack?: unknown };
    reply = {
      id: job.id,
      error: {
        message: typeof e.message === 'string' ? e.message : String(err),
        code: typeof e.code === 'string' ? e.code : undefined,
        stack: typeof e.stack === 'string' ? e.stack : undefined,
      },
    };
    parentPort?.postMessage(reply);
  }
});
