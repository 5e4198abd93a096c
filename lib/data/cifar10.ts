/**
 * CIFAR-10's binary version: records of 1 label byte and 3072 pixel bytes stored as three
 * 32x32 planes (R, G, B), converted here to channels-last.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { SenetError } from '../errors';
import { describe, fail } from '../validate';
import type { DatasetSplits, ImageDataset } from './dataset';
import { checkLabels } from './idx';
import { allInOrder, loadOptions, readMaybeGzip, readMaybeGzipSync, type LoadOptions } from './read';

/** CIFAR-10's standard class names, used when batches.meta.txt is absent. */
export const CIFAR10_CLASSES: readonly string[] = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
];

const SIDE = 32;
const PLANE = SIDE * SIDE;
const RECORD = 1 + 3 * PLANE;
const TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
const TEST_FILES = ['test_batch.bin'];
const ALL_FILES = [...TRAIN_FILES, ...TEST_FILES];
const NESTED = 'cifar-10-batches-bin';
const META = 'batches.meta.txt';

/** Records converted between two turns of the event loop by the non-blocking loader (about 3 MB). */
const RECORDS_PER_SLICE = 1000;

/** One batch file's bytes, checked to hold whole records. */
interface Batch {
  file: string;
  bytes: Uint8Array;
}

/**
 * Loads CIFAR-10 (50000 train, 10000 test, 32x32x3) from `dir`, or from `dir`/cifar-10-batches-bin,
 * the folder the official archive unpacks to, without blocking the event loop: the files are read
 * through fs.promises and converted to channels-last a slice at a time. Each file may hold at most
 * `options.maxBytes` bytes (default 2 GiB).
 */
export async function loadCifar10(dir: string, options?: LoadOptions): Promise<DatasetSplits> {
  const where = 'loadCifar10';
  checkDir(where, dir);
  const { maxBytes } = loadOptions(where, options);
  const exists = (file: string) => fs.promises.access(file).then(() => true, () => false);
  const missingIn = async (d: string) => {
    const found = await Promise.all(ALL_FILES.map((f) => exists(path.join(d, f))));
    return ALL_FILES.filter((_, i) => !found[i]);
  };
  let root = dir;
  const missing = await missingIn(dir);
  if (missing.length > 0) {
    if ((await missingIn(path.join(dir, NESTED))).length > 0) missingFiles(where, dir, missing);
    root = path.join(dir, NESTED);
  }
  const meta = path.join(root, META);
  const classes = classNames(where, meta, (await exists(meta)) ? await readMaybeGzip(where, meta, maxBytes) : undefined);
  // Read concurrently; the first bad file in order is reported, as the blocking loader does.
  const batches = await allInOrder<Batch[]>(ALL_FILES.map(async (f) => {
    const file = path.join(root, f);
    return checkBatch(where, file, await readMaybeGzip(where, file, maxBytes));
  }));
  const [train, test] = [batches.slice(0, TRAIN_FILES.length), batches.slice(TRAIN_FILES.length)];
  return {
    train: await concatBatches(where, 'cifar10/train', train, classes),
    test: await concatBatches(where, 'cifar10/test', test, classes),
  };
}

/** As `loadCifar10`, but blocking: the event loop stops until all six files are read and converted. */
export function loadCifar10Sync(dir: string, options?: LoadOptions): DatasetSplits {
  const where = 'loadCifar10Sync';
  checkDir(where, dir);
  const { maxBytes } = loadOptions(where, options);
  const missingIn = (d: string) => ALL_FILES.filter((f) => !fs.existsSync(path.join(d, f)));
  let root = dir;
  const missing = missingIn(dir);
  if (missing.length > 0) {
    if (missingIn(path.join(dir, NESTED)).length > 0) missingFiles(where, dir, missing);
    root = path.join(dir, NESTED);
  }
  const meta = path.join(root, META);
  const classes = classNames(where, meta, fs.existsSync(meta) ? readMaybeGzipSync(where, meta, maxBytes) : undefined);
  const read = (names: string[]) => names.map((f) => {
    const file = path.join(root, f);
    return checkBatch(where, file, readMaybeGzipSync(where, file, maxBytes));
  });
  return {
    train: concatBatchesSync(where, 'cifar10/train', read(TRAIN_FILES), classes),
    test: concatBatchesSync(where, 'cifar10/test', read(TEST_FILES), classes),
  };
}

function checkDir(where: string, dir: unknown): void {
  if (typeof dir !== 'string' || dir === '') fail('SENET_ARGUMENT', where, 'dir', 'a directory path', describe(dir));
}

function missingFiles(where: string, dir: string, missing: string[]): never {
  throw new SenetError('SENET_IO', `${where}: ${dir}: missing ${missing.join(', ')}; pass --data DIR, a directory holding CIFAR-10's binary version (${NESTED})`);
}

/** Class names from batches.meta.txt's bytes (one per line) when present, else the standard ten. */
function classNames(where: string, file: string, bytes: Uint8Array | undefined): string[] {
  if (bytes === undefined) return CIFAR10_CLASSES.slice();
  const names = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
    .split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '');
  if (names.length !== CIFAR10_CLASSES.length) fail('SENET_FORMAT', where, file, `${CIFAR10_CLASSES.length} class names`, `${names.length}`);
  return names;
}

function checkBatch(where: string, file: string, bytes: Uint8Array): Batch {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    fail('SENET_FORMAT', where, file, `a positive multiple of ${RECORD} bytes (label + 3x32x32)`, `${bytes.length} bytes`);
  }
  return { file, bytes };
}

/** The dataset the batches fill, still empty. */
function emptyDataset(name: string, batches: Batch[], classes: string[]): ImageDataset {
  const count = batches.reduce((n, b) => n + b.bytes.length / RECORD, 0);
  const images = new Uint8Array(count * 3 * PLANE);
  const labels = new Uint8Array(count);
  return { name, images, labels, count, height: SIDE, width: SIDE, channels: 3, classes: classes.slice() };
}

/** Copies records [from, to) of `bytes` into `ds` from record `at` on, planes to channels-last. */
function convert(ds: ImageDataset, bytes: Uint8Array, from: number, to: number, at: number): void {
  const { images, labels } = ds;
  for (let rec = from, r = at; rec < to; rec++, r++) {
    const off = rec * RECORD;
    labels[r] = bytes[off];
    const out = r * 3 * PLANE;
    for (let p = 0; p < PLANE; p++) {
      images[out + 3 * p] = bytes[off + 1 + p];
      images[out + 3 * p + 1] = bytes[off + 1 + PLANE + p];
      images[out + 3 * p + 2] = bytes[off + 1 + 2 * PLANE + p];
    }
  }
}

/** Concatenates the records of `batches` into one channels-last dataset. Blocking. */
function concatBatchesSync(where: string, name: string, batches: Batch[], classes: string[]): ImageDataset {
  const ds = emptyDataset(name, batches, classes);
  let r = 0;
  for (const { file, bytes } of batches) {
    const n = bytes.length / RECORD;
    convert(ds, bytes, 0, n, r);
    checkLabels(where, file, ds.labels.subarray(r, r + n), classes.length);
    r += n;
  }
  return ds;
}

/** As `concatBatchesSync`, yielding to the event loop every RECORDS_PER_SLICE records. */
async function concatBatches(where: string, name: string, batches: Batch[], classes: string[]): Promise<ImageDataset> {
  const ds = emptyDataset(name, batches, classes);
  let r = 0;
  for (const { file, bytes } of batches) {
    const n = bytes.length / RECORD;
    for (let from = 0; from < n; from += RECORDS_PER_SLICE) {
      const to = Math.min(n, from + RECORDS_PER_SLICE);
      convert(ds, bytes, from, to, r + from);
      await nextTurn();
    }
    checkLabels(where, file, ds.labels.subarray(r, r + n), classes.length);
    r += n;
  }
  return ds;
}
