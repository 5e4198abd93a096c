/**
 * Image datasets held in memory as bytes, channels-last, and the two ways to cut one down:
 * a seeded validation split and a prefix.
 */
import { checkInt, describe, fail } from '../validate';
import { checkFolderDataset, isFolderDataset, type ImageFolderDataset } from './folder';
import { permutation, STREAM_SPLIT } from './random';

/** The datasets senet knows how to load. */
export type DatasetName = 'fashion-mnist' | 'mnist' | 'cifar10';

/** The pixels and labels of a dataset, without its names: what a batch is made from. */
export interface ImageSource {
  /** Pixel bytes, shape (count, height, width, channels). */
  images: Uint8Array;
  /** One class index per image, shape (count): bytes for the built-in datasets, Int32 for any number of classes. */
  labels: Uint8Array | Int32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
}

/** Images as bytes, channels-last. */
export interface ImageDataset extends ImageSource {
  /** E.g. 'fashion-mnist/train'. */
  name: string;
  /** Class names; labels index into this array. */
  classes: string[];
}

/** The train and test halves a dataset ships as. */
export interface DatasetSplits {
  train: ImageDataset;
  test: ImageDataset;
}

/** Checks that the typed arrays of `ds` have the lengths its sizes promise. */
export function checkSource(where: string, ds: ImageSource): void {
  if (ds === null || typeof ds !== 'object') fail('SENET_ARGUMENT', where, 'dataset', 'an object', describe(ds));
  if (!(ds.images instanceof Uint8Array)) fail('SENET_ARGUMENT', where, 'dataset.images', 'a Uint8Array', describe(ds.images));
  if (!(ds.labels instanceof Uint8Array) && !(ds.labels instanceof Int32Array)) fail('SENET_ARGUMENT', where, 'dataset.labels', 'a Uint8Array or Int32Array', describe(ds.labels));
  const count = checkInt(where, 'dataset.count', ds.count, 0);
  const h = checkInt(where, 'dataset.height', ds.height, 1);
  const w = checkInt(where, 'dataset.width', ds.width, 1);
  const c = checkInt(where, 'dataset.channels', ds.channels, 1);
  if (ds.images.length !== count * h * w * c) {
    fail('SENET_ARGUMENT', where, 'dataset.images', `${count * h * w * c} bytes (${count}x${h}x${w}x${c})`, `${ds.images.length}`);
  }
  if (ds.labels.length !== count) fail('SENET_ARGUMENT', where, 'dataset.labels', `${count} labels`, `${ds.labels.length}`);
}

/**
 * Splits `ds` into a training part and `valCount` validation images chosen at random; the same
 * seed gives the same split. Both parts keep the original order and are copies.
 */
export function splitValidation<D extends ImageDataset | ImageFolderDataset>(ds: D, valCount: number, seed: number): { train: D; val: D } {
  const where = 'splitValidation';
  if (isFolderDataset(ds)) checkFolderDataset(where, ds);
  else checkSource(where, ds as ImageDataset);
  checkInt(where, 'valCount', valCount, 0, ds.count);
  checkInt(where, 'seed', seed, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const isVal = new Uint8Array(ds.count);
  const perm = permutation(ds.count, seed, 0, STREAM_SPLIT);
  for (let i = 0; i < valCount; i++) isVal[perm[i]] = 1;
  const valIdx: number[] = [];
  const trainIdx: number[] = [];
  for (let i = 0; i < ds.count; i++) (isVal[i] ? valIdx : trainIdx).push(i);
  return { train: gather(ds, trainIdx, `${ds.name}:train`), val: gather(ds, valIdx, `${ds.name}:val`) };
}

/** Either kind of dataset, cut to `indices`. */
function gather<D extends ImageDataset | ImageFolderDataset>(ds: D, indices: readonly number[], name: string): D {
  if (isFolderDataset(ds)) {
    const files = indices.map((i) => ds.files[i]!);
    return { ...ds, name, files, labels: Int32Array.from(indices, (i) => ds.labels[i]!), count: indices.length, classes: ds.classes.slice() };
  }
  return gatherBytes(ds as ImageDataset, indices, name) as D;
}

/** The first `n` images of `ds` (all of them when n ≥ count), as views that share its memory. */
export function limitDataset<D extends ImageDataset | ImageFolderDataset>(ds: D, n: number): D {
  if (isFolderDataset(ds)) {
    checkFolderDataset('limitDataset', ds);
    checkInt('limitDataset', 'n', n, 0);
    if (n >= ds.count) return ds;
    return { ...ds, name: `${ds.name}[:${n}]`, files: ds.files.slice(0, n), labels: ds.labels.slice(0, n), count: n, classes: ds.classes.slice() };
  }
  return limitBytes(ds as ImageDataset, n) as D;
}

function limitBytes(ds: ImageDataset, n: number): ImageDataset {
  checkSource('limitDataset', ds);
  checkInt('limitDataset', 'n', n, 0);
  if (n >= ds.count) return ds;
  const size = ds.height * ds.width * ds.channels;
  return {
    ...ds,
    name: `${ds.name}[:${n}]`,
    images: ds.images.subarray(0, n * size),
    labels: ds.labels.subarray(0, n),
    count: n,
    classes: ds.classes.slice(),
  };
}

/** A copy of the images of `ds` at `indices`, in that order. */
function gatherBytes(ds: ImageDataset, indices: readonly number[], name: string): ImageDataset {
  const size = ds.height * ds.width * ds.channels;
  const images = new Uint8Array(indices.length * size);
  const labels = ds.labels instanceof Int32Array ? new Int32Array(indices.length) : new Uint8Array(indices.length);
  indices.forEach((src, dst) => {
    images.set(ds.images.subarray(src * size, (src + 1) * size), dst * size);
    labels[dst] = ds.labels[src];
  });
  return { ...ds, name, images, labels, count: indices.length, classes: ds.classes.slice() };
}
