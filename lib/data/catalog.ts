/**
 * The known datasets by name: how to load each and the per-channel statistics to normalise it with.
 */
import { checkBool, checkOneOf, fail } from '../validate';
import { DEFAULT_AUGMENT, type AugmentOptions } from './augment';
import { loadCifar10 } from './cifar10';
import type { DatasetName, DatasetSplits } from './dataset';
import { loadFashionMnist, loadMnist } from './mnist';

/** The names loadDataset accepts. */
export const DATASET_NAMES: readonly DatasetName[] = ['fashion-mnist', 'mnist', 'cifar10'];

/** The usual published per-channel mean and std of each training set (pixel values in [0, 1]). */
export const DATASET_NORMALIZATION: Record<DatasetName, { mean: number[]; std: number[] }> = {
  'fashion-mnist': { mean: [0.286], std: [0.353] },
  mnist: { mean: [0.1307], std: [0.3081] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
};

/**
 * Loads a dataset by name from `dir`, or from its default directory (Fashion-MNIST and MNIST only;
 * CIFAR-10 has none and needs `dir`).
 */
export function loadDataset(name: DatasetName, dir?: string): DatasetSplits {
  checkOneOf('loadDataset', 'name', name, DATASET_NAMES);
  switch (name) {
    case 'fashion-mnist':
      return loadFashionMnist(dir);
    case 'mnist':
      return loadMnist(dir);
    case 'cifar10':
      if (dir === undefined) fail('SENET_ARGUMENT', 'loadDataset', 'dir', "CIFAR-10's directory (it has no default)", 'undefined');
      return loadCifar10(dir);
  }
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
