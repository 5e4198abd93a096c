/**
 * CIFAR-10's binary version: records of 1 label byte and 3072 pixel bytes stored as three
 * 32x32 planes (R, G, B), converted here to channels-last.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SenetError } from '../errors';
import { describe, fail } from '../validate';
import type { DatasetSplits, ImageDataset } from './dataset';
import { checkLabels } from './idx';

/** CIFAR-10's standard class names, used when batches.meta.txt is absent. */
export const CIFAR10_CLASSES: readonly string[] = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
];

const SIDE = 32;
const PLANE = SIDE * SIDE;
const RECORD = 1 + 3 * PLANE;
const TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
const TEST_FILES = ['test_batch.bin'];

/**
 * Loads CIFAR-10 (50000 train, 10000 test, 32x32x3) from `dir`, or from `dir`/cifar-10-batches-bin,
 * the folder the official archive unpacks to.
 */
export function loadCifar10(dir: string): DatasetSplits {
  const where = 'loadCifar10';
  if (typeof dir !== 'string' || dir === '') fail('SENET_ARGUMENT', where, 'dir', 'a directory path', describe(dir));
  const all = [...TRAIN_FILES, ...TEST_FILES];
  const missingIn = (d: string) => all.filter((f) => !fs.existsSync(path.join(d, f)));
  let root = dir;
  let missing = missingIn(root);
  if (missing.length > 0) {
    const nested = path.join(dir, 'cifar-10-batches-bin');
    if (missingIn(nested).length === 0) [root, missing] = [nested, []];
  }
  if (missing.length > 0) {
    throw new SenetError('SENET_IO', `${where}: ${dir}: missing ${missing.join(', ')}; pass --data DIR, a directory holding CIFAR-10's binary version (cifar-10-batches-bin)`);
  }
  const classes = readClassNames(where, root);
  return {
    train: readBatches(where, 'cifar10/train', TRAIN_FILES.map((f) => path.join(root, f)), classes),
    test: readBatches(where, 'cifar10/test', TEST_FILES.map((f) => path.join(root, f)), classes),
  };
}

/** Class names from batches.meta.txt (one per line) when present, else the standard ten. */
function readClassNames(where: string, dir: string): string[] {
  const file = path.join(dir, 'batches.meta.txt');
  if (!fs.existsSync(file)) return CIFAR10_CLASSES.slice();
  const names = read(where, file).toString('utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '');
  if (names.length !== CIFAR10_CLASSES.length) fail('SENET_FORMAT', where, file, `${CIFAR10_CLASSES.length} class names`, `${names.length}`);
  return names;
}

/** Concatenates the records of `files` into one channels-last dataset. */
function readBatches(where: string, name: string, files: string[], classes: string[]): ImageDataset {
  const buffers = files.map((file) => {
    const bytes = read(where, file);
    if (bytes.length === 0 || bytes.length % RECORD !== 0) {
      fail('SENET_FORMAT', where, file, `a positive multiple of ${RECORD} bytes (label + 3x32x32)`, `${bytes.length} bytes`);
    }
    return { file, bytes };
  });
  const count = buffers.reduce((n, b) => n + b.bytes.length / RECORD, 0);
  const images = new Uint8Array(count * 3 * PLANE);
  const labels = new Uint8Array(count);
  let r = 0;
  for (const { file, bytes } of buffers) {
    const first = r;
    for (let off = 0; off < bytes.length; off += RECORD, r++) {
      labels[r] = bytes[off];
      const out = r * 3 * PLANE;
      for (let p = 0; p < PLANE; p++) {
        images[out + 3 * p] = bytes[off + 1 + p];
        images[out + 3 * p + 1] = bytes[off + 1 + PLANE + p];
        images[out + 3 * p + 2] = bytes[off + 1 + 2 * PLANE + p];
      }
    }
    checkLabels(where, file, labels.subarray(first, r), classes.length);
  }
  return { name, images, labels, count, height: SIDE, width: SIDE, channels: 3, classes: classes.slice() };
}

/** The bytes of `file`, or SENET_IO naming it. */
function read(where: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new SenetError('SENET_IO', `${where}: ${file}: cannot read: ${(err as Error).message}`);
  }
}
