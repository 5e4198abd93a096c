/**
 * The known datasets by name: how to load each and the per-channel statistics to normalise it with.
 */
import { checkBool, checkOneOf, fail } from '../validate';
import { DEFAULT_AUGMENT, type AugmentOptions } from './augment';
import { loadCifar10, loadCifar10Sync } from './cifar10';
import type { DatasetName, DatasetSplits } from './dataset';
import { loadFashionMnist, loadFashionMnistSync, loadMnist, loadMnistSync } from './mnist';
import type { LoadOptions } from './read';

/** The names loadDataset and loadDatasetSync accept. */
export const DATASET_NAMES: readonly DatasetName[] = ['fashion-mnist', 'mnist', 'cifar10'];

/** The usual published per-channel mean and std of each training set (pixel values in [0, 1]). */
export const DATASET_NORMALIZATION: Record<DatasetName, { mean: number[]; std: number[] }> = {
  'fashion-mnist': { mean: [0.286], std: [0.353] },
  mnist: { mean: [0.1307], std: [0.3081] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
};

/**
 * Loads a dataset by name from `dir`, or from its default directory (Fashion-MNIST and MNIST only;
 * CIFAR-10 has none and needs `dir`), without blocking the event loop: files are read through
 * fs.promises, gunzipped by a stream and refused with SENET_FORMAT past `options.maxBytes`
 * (default 2 GiB) or, for IDX files, past the size their header promises.
 */
export async function loadDataset(name: DatasetName, dir?: string, options?: LoadOptions): Promise<DatasetSplits> {
  checkOneOf('loadDataset', 'name', name, DATASET_NAMES);
  switch (name) {
    case 'fashion-mnist':
      return loadFashionMnist(dir, options);
    case 'mnist':
      return loadMnist(dir, options);
    case 'cifar10':
      return loadCifar10(cifarDir('loadDataset', dir), options);
  }
}

/** As `loadDataset`, but blocking: the event loop stops until every file is read and decoded. */
export function loadDatasetSync(name: DatasetName, dir?: string, options?: LoadOptions): DatasetSplits {
  checkOneOf('loadDatasetSync', 'name', name, DATASET_NAMES);
  switch (name) {
    case 'fashion-mnist':
      return loadFashionMnistSync(dir, options);
    case 'mnist':
      return loadMnistSync(dir, options);
    case 'cifar10':
      return loadCifar10Sync(cifarDir('loadDatasetSync', dir), options);
  }
}

function cifarDir(where: string, dir: string | undefined): string {
  if (dir === undefined) fail('SENET_ARGUMENT', where, 'dir', "CIFAR-10's directory (it has no default)", 'undefined');
  return dir;
}

/**
 * The augmentation to train `name` with (DEFAULT_AUGMENT plus its normalisation), or with
 * `train` false the normalisation alone, for evaluation.
 */
export function augmentOptions(name: DatasetName, train: boolean): AugmentOptions {
  checkOneOf('augmentOptions', 'name', name, DATASET_NAMES);
  checkBool('augmentOptions', 'train', train);
  const { mean, std } = DATASET_NORMALIZATION[name];
  const base = train ? DEFAULT_AUGMENT[name] : { cropPadding: 0, flip: false };
  return { ...base, mean: mean.slice(), std: std.slice() };
}
