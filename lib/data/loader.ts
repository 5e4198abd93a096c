/**
 * Batches prepared by worker threads while the model consumes earlier ones. The dataset goes to
 * the workers once, in shared memory; batches come back transferred, not copied.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { binding } from '../binding';
import { SenetError, type SenetErrorCode } from '../errors';
import { checkBool, checkInt, checkOptions } from '../validate';
import { checkAugment, makeBatch, makeByteBatch, normalizationTable, type AugmentOptions, type Batch, type ByteBatch } from './augment';
import { checkSource, type ImageDataset, type ImageSource } from './dataset';
import { makeFileBatch } from './file_batch';
import { checkFolderDataset, isFolderDataset, type ImageFolderDataset } from './folder';
import type { WorkerInit, WorkerJob, WorkerReply } from './protocol';
import { permutation } from './random';

/** How a BatchLoader cuts, orders and prepares batches. */
export interface LoaderOptions {
  /** Images per batch. */
  batchSize: number;
  /** Shuffle each epoch; the order of epoch e depends only on (seed, e). */
  shuffle: boolean;
  /** Augmentation and normalisation; null = bytes / 255 (see makeBatch). */
  augment: AugmentOptions | null;
  /** Seeds the shuffle and the augmentation draws. */
  seed: number;
  /**
   * Leave out the last, smaller batch (default false, as PyTorch's DataLoader). Training wants
   * it: a last batch of one image cannot train batch norm, and Trainer.fit refuses one.
   */
  dropLast?: boolean;
  /** Worker threads (default 1, 2 with more than 4 usable cores: affinity and cgroup quota); 0 prepares batches on the calling thread. */
  workers?: number;
  /** Batches requested ahead of the one being consumed (default 2). */
  prefetch?: number;
}

/**
 * The loader option `bytes`, tied to its batch type: `new BatchLoader<ByteBatch>(ds, { ...,
 * bytes: true })` yields batches of augmented bytes with their normalisation table instead of
 * floats (the Trainer normalises them on the model's device to the same values, and a GPU gets a
 * quarter of the bytes to copy); a `BatchLoader` (of Batch) takes it absent or false (default).
 */
export type BytesOption<B> = [B] extends [ByteBatch] ? { bytes: true } : [B] extends [Batch] ? { bytes?: false } : { bytes?: boolean };

interface Slot {
  worker: Worker;
  /** Jobs sent and not answered; the worker keeps the process alive only while this is > 0. */
  busy: number;
  dead: boolean;
}

interface Pending {
  slot: Slot;
  resolve(batch: Batch | ByteBatch): void;
  reject(err: Error): void;
}

/** The cores this process may use: its affinity, at most its cgroup's CPU quota. */
function usableCores(): number {
  const quota = binding.threadsReport().quotaCores;
  return quota > 0 ? Math.min(quota, os.availableParallelism()) : os.availableParallelism();
}

/**
 * Iterates over a dataset's batches, epoch by epoch, with batches prepared off the main thread:
 * normalised floats (Batch), or with `bytes: true` bytes and their table (`BatchLoader<ByteBatch>`).
 */
export class BatchLoader<B extends Batch | ByteBatch = Batch> {
  /** Batches in one epoch. */
  readonly batchesPerEpoch: number;
  /** Worker threads used (0: batches are made on the calling thread). */
  readonly workers: number;
  /** (height, width, channels) of the images. */
  readonly imageShape: readonly [number, number, number];
  /** The fewest images one batch of an epoch holds (the last one's, unless dropped); 0 when there are no batches. */
  readonly smallestBatch: number;

  private readonly batchSize: number;
  private readonly shuffle: boolean;
  private readonly augment: AugmentOptions | null;
  private readonly seed: number;
  private readonly prefetch: number;
  private readonly bytes: boolean;
  // The byte batches' normalisation table, one for every batch (null for float batches).
  private readonly table: Float32Array | null;
  private readonly count: number;
  private readonly init: WorkerInit;
  /** Views of the shared copy, for workers = 0 (null for an image folder). */
  private readonly source: ImageSource | null;
  private slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closing: Promise<void> | null = null;

  /**
   * Copies the dataset into shared memory (an image folder: its file list, decoded per batch);
   * workers start with the first batch requested.
   */
  constructor(ds: ImageDataset | ImageFolderDataset, options: LoaderOptions & BytesOption<B>) {
    const where = 'BatchLoader';
    if (isFolderDataset(ds)) checkFolderDataset(where, ds);
    else checkSource(where, ds);
    const o = checkOptions(where, options);
    this.batchSize = checkInt(where, 'batchSize', o.batchSize, 1);
    this.shuffle = checkBool(where, 'shuffle', o.shuffle);
    this.augment = checkAugment(where, o.augment, ds.channels);
    this.seed = checkInt(where, 'seed', o.seed, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const dropLast = o.dropLast === undefined ? false : checkBool(where, 'dropLast', o.dropLast);
    this.workers = o.workers === undefined ? (usableCores() > 4 ? 2 : 1) : checkInt(where, 'workers', o.workers, 0, 64);
    this.prefetch = o.prefetch === undefined ? 2 : checkInt(where, 'prefetch', o.prefetch, 1, 1024);
    const bytes = (options as { bytes?: unknown }).bytes;
    this.bytes = bytes === undefined ? false : checkBool(where, 'bytes', bytes);
    this.table = this.bytes ? normalizationTable(this.augment, ds.channels) : null;
    this.count = ds.count;
    this.batchesPerEpoch = dropLast ? Math.floor(ds.count / this.batchSize) : Math.ceil(ds.count / this.batchSize);
    this.imageShape = [ds.height, ds.width, ds.channels];
    const rest = ds.count % this.batchSize;
    this.smallestBatch = this.batchesPerEpoch === 0 ? 0 : dropLast || rest === 0 ? this.batchSize : rest;

    const { count, height, width, channels } = ds;
    if (isFolderDataset(ds)) {
      const files = { files: ds.files.slice(), labels: ds.labels.slice(), height, width, channels };
      this.init = { shared: null, files, count, height, width, channels, augment: this.augment, seed: this.seed, bytes: this.bytes };
      this.source = null;
      return;
    }
    if (ds.labels instanceof Int32Array && ds.labels.some((l) => l > 255 || l < 0)) {
      throw new SenetError('SENET_ARGUMENT', `${where}: dataset.labels: expected labels in [0, 255] for an in-memory dataset, received more classes (use an image folder)`);
    }
    const imageBytes = ds.images.length;
    const shared = new SharedArrayBuffer(imageBytes + ds.count);
    new Uint8Array(shared, 0, imageBytes).set(ds.images);
    new Uint8Array(shared, imageBytes, ds.count).set(ds.labels);
    this.init = { shared, files: null, count, height, width, channels, augment: this.augment, seed: this.seed, bytes: this.bytes };
    this.source = {
      images: new Uint8Array(shared, 0, imageBytes),
      labels: new Uint8Array(shared, imageBytes, count),
      count,
      height,
      width,
      channels,
    };
  }

  /**
   * The batches of one epoch in order, starting at batch `start` (for resume). Each batch is
   * prepared by a worker thread while the previous ones are consumed. Leaving the loop early waits
   * for the batches already requested, so no work is left behind.
   */
  epoch(epoch: number, start = 0): AsyncIterableIterator<B> {
    checkInt('BatchLoader.epoch', 'epoch', epoch, 0, 0x7fffffff);
    checkInt('BatchLoader.epoch', 'start', start, 0, this.batchesPerEpoch);
    if (this.closing) throw disposed();
    return this.run(epoch, start);
  }

  /** Batches requested from the workers and not yet back (0 once an epoch's loop has ended). */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Terminates the workers and rejects batches still awaited; safe to call twice. */
  close(): Promise<void> {
    if (!this.closing) {
      const err = disposed();
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      const slots = this.slots;
      this.slots = [];
      for (const s of slots) s.dead = true;
      this.closing = Promise.all(slots.map((s) => s.worker.terminate())).then(() => undefined);
    }
    return this.closing;
  }

  /** The dataset indices of epoch `epoch` in batch order: a seeded permutation, or 0..count-1. */
  protected order(epoch: number): Uint32Array {
    if (this.shuffle) return permutation(this.count, this.seed, epoch);
    const p = new Uint32Array(this.count);
    for (let i = 0; i < p.length; i++) p[i] = i;
    return p;
  }

  /** The compiled worker script, next to this file. */
  protected workerScript(): string {
    return path.join(__dirname, 'worker.js');
  }

  private async *run(epoch: number, start: number): AsyncGenerator<B, void, undefined> {
    const order = this.order(epoch);
    const queue: Promise<B>[] = [];
    let next = start;
    try {
      for (let b = start; b < this.batchesPerEpoch; b++) {
        for (; next < this.batchesPerEpoch && next <= b + this.prefetch; next++) {
          const job = this.request(order, epoch, next);
          // Handled here so that a failure of a later batch is not "unhandled" while we await this one.
          job.catch(() => undefined);
          queue.push(job);
        }
        yield await (queue.shift() as Promise<B>);
      }
    } finally {
      await Promise.allSettled(queue);
    }
  }

  private request(order: Uint32Array, epoch: number, batchIndex: number): Promise<B> {
    if (this.closing) return Promise.reject(disposed());
    const lo = batchIndex * this.batchSize;
    const indices = order.slice(lo, Math.min(lo + this.batchSize, this.count));
    if (this.workers === 0) {
      if (!this.source) return makeFileBatch(this.init.files!, indices, this.augment, this.seed, epoch, batchIndex, this.bytes) as Promise<B>;
      try {
        const src = this.source;
        return Promise.resolve((this.bytes ? makeByteBatch(src, indices, this.augment, this.seed, epoch, batchIndex) : makeBatch(src, indices, this.augment, this.seed, epoch, batchIndex)) as B);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const slot = this.pickSlot();
    const id = this.nextId++;
    return new Promise<B>((resolve, reject) => {
      this.pending.set(id, { slot, resolve: resolve as (batch: Batch | ByteBatch) => void, reject });
      if (slot.busy++ === 0) slot.worker.ref();
      const job: WorkerJob = { id, epoch, batchIndex, indices };
      slot.worker.postMessage(job, [indices.buffer]);
    });
  }

  /** The least busy worker, starting workers up to the configured number. */
  private pickSlot(): Slot {
    while (this.slots.length < this.workers) this.slots.push(this.spawn());
    return this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  private spawn(): Slot {
    const worker = new Worker(this.workerScript(), { workerData: this.init });
    const slot: Slot = { worker, busy: 0, dead: false };
    // An idle worker must not keep the process alive, even if close() is never called.
    worker.unref();
    worker.on('message', (reply: WorkerReply) => this.settle(slot, reply));
    worker.on('error', (err: unknown) => this.lose(slot, workerError(err)));
    worker.on('exit', (code: number) => this.lose(slot, new SenetError('SENET_INTERNAL', `BatchLoader: a worker exited with code ${code}`)));
    return slot;
  }

  private settle(slot: Slot, reply: WorkerReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (--slot.busy === 0) slot.worker.unref();
    if ('error' in reply) {
      p.reject(workerError(reply.error));
    } else {
      const { images, labels, size, index } = reply;
      p.resolve(this.table ? { images: images as Uint8Array, labels, size, index, normalize: this.table } : { images: images as Float32Array, labels, size, index });
    }
  }

  /** A worker died (uncaught error or exit): its jobs fail with its error; a new one replaces it on demand. */
  private lose(slot: Slot, err: Error): void {
    if (slot.dead) return;
    slot.dead = true;
    this.slots = this.slots.filter((s) => s !== slot);
    for (const [id, p] of this.pending) {
      if (p.slot === slot) {
        this.pending.delete(id);
        p.reject(err);
      }
    }
  }
}

/**
 * A main-thread Error carrying a worker's message, code and stack: errors that cross threads
 * arrive as clones that are not always real Error instances.
 */
function workerError(err: unknown): Error {
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as { message?: unknown; code?: unknown; stack?: unknown };
  const message = String(e.message);
  const out = typeof e.code === 'string' && e.code.startsWith('SENET_') ? new SenetError(e.code as SenetErrorCode, message) : new Error(message);
  if (typeof e.stack === 'string') out.stack = e.stack;
  return out;
}

function disposed(): SenetError {
  return new SenetError('SENET_DISPOSED', 'BatchLoader: closed; create a new loader');
}
