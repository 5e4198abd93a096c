/**
 * Shared by the data tests: temporary directories, synthetic IDX/CIFAR files and datasets, and
 * catching thrown errors.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { ImageDataset } from '../../lib/data';

const made: string[] = [];
process.on('exit', () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary directory, removed when the process exits. */
export function tempDir(prefix = 'senet-data-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** IDX bytes: big-endian magic 0x000008NN, the sizes, then `data`. */
export function idxBytes(sizes: number[], data: Uint8Array, magic = 0x800 + sizes.length): Buffer {
  const header = Buffer.alloc(4 + 4 * sizes.length);
  header.writeUInt32BE(magic, 0);
  sizes.forEach((s, i) => header.writeUInt32BE(s, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

/** Writes `bytes` to dir/name, gzipped when `gzip` (then the name gets .gz). Returns the path. */
export function writeFile(dir: string, name: string, bytes: Uint8Array, gzip = false): string {
  const file = path.join(dir, gzip ? `${name}.gz` : name);
  fs.writeFileSync(file, gzip ? zlib.gzipSync(bytes) : bytes);
  return file;
}

/** Deterministic pseudo-random bytes (not the library's generator, so tests don't share its bugs). */
export function bytes(n: number, seed: number, max = 256): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) % max;
  }
  return out;
}

/** An MNIST-layout set: images (count, rows, cols) and labels; labels i % 10 unless given. */
export interface IdxSet {
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  testImages: Uint8Array;
  testLabels: Uint8Array;
}

/** Writes the four MNIST files into `dir` (gzipped or not) and returns their contents. */
export function writeMnistDir(dir: string, train: number, test: number, rows: number, cols: number, gzip: boolean): IdxSet {
  const labels = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 10);
  const set: IdxSet = {
    trainImages: bytes(train * rows * cols, 1),
    trainLabels: labels(train),
    testImages: bytes(test * rows * cols, 2),
    testLabels: labels(test),
  };
  writeFile(dir, 'train-images-idx3-ubyte', idxBytes([train, rows, cols], set.trainImages), gzip);
  writeFile(dir, 'train-labels-idx1-ubyte', idxBytes([train], set.trainLabels), gzip);
  writeFile(dir, 't10k-images-idx3-ubyte', idxBytes([test, rows, cols], set.testImages), gzip);
  writeFile(dir, 't10k-labels-idx1-ubyte', idxBytes([test], set.testLabels), gzip);
  return set;
}

/** A synthetic dataset whose image i has label i % classes. */
export function syntheticDataset(count: number, height: number, width: number, channels: number, seed = 7): ImageDataset {
  return {
    name: 'synthetic',
    images: bytes(count * height * width * channels, seed),
    labels: Uint8Array.from({ length: count }, (_, i) => i % 10),
    count,
    height,
    width,
    channels,
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  };
}

/** The error `fn` throws (fails the test if it returns). */
export function thrown(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected a throw');
}

/** The error `promise` rejects with (fails the test if it resolves). */
export async function rejected(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected a rejection');
}

/** The errors of the blocking call and of the non-blocking one, in that order. */
export async function bothErrors(sync: () => unknown, nonBlocking: () => Promise<unknown>): Promise<{ code?: string; message: string }[]> {
  return [thrown(sync), await rejected(nonBlocking())];
}

/** Counts turns of the event loop (a setImmediate chain) until the returned function is called, which gives the count. */
export function countTurns(): () => number {
  let turns = 0;
  let next = setImmediate(function turn() {
    turns++;
    next = setImmediate(turn);
  });
  return () => {
    clearImmediate(next);
    return turns;
  };
}
