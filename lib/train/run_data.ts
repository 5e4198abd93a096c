/**
 * The data of a training run: a built-in dataset (Fashion-MNIST, MNIST, CIFAR-10) or your own
 * image folder, its train / validation / test splits, the augmentation and normalisation for
 * each, and the preprocessing a checkpoint records for predict().
 */
import { augmentOptions, DATASET_NORMALIZATION, limitDataset, loadDataset, loadImageFolderSplits, splitValidation, type AugmentOptions, type DatasetName, type ImageDataset, type ImageFolderDataset } from '../data';
import type { Preprocessing } from '../predict/preprocessing';
import { fail } from '../validate';

/** What `--dataset` accepts: a built-in dataset, or `folder` (root/<class>/*.png|jpg|jpeg|webp). */
export type RunDataset = DatasetName | 'folder';

/** The inputs of a run's data. */
export interface RunDataOptions {
  dataset: RunDataset;
  data?: string;
  /** Image folders: the side images are resized to (default 64). */
  size?: number;
  /** Image folders: 1 (gray) or 3 (RGB, the default). */
  channels?: number;
  /** Images held out of training for validation when the data has no validation split. */
  valCount: number;
  /** True when valCount was given (an image folder otherwise holds out a tenth). */
  valGiven: boolean;
  limit?: number;
  augment: boolean;
  seed: number;
}

type AnyDataset = ImageDataset | ImageFolderDataset;

/** A run's splits, augmentation and preprocessing. */
export interface RunData {
  train: AnyDataset;
  val: AnyDataset | null;
  test: AnyDataset | null;
  trainAugment: AugmentOptions;
  evalAugment: AugmentOptions;
  preprocessing: Preprocessing;
}

/** Image folders: ImageNet's statistics for colour (what timm's models use), the middle for gray. */
const FOLDER_NORMALIZATION = {
  3: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  1: { mean: [0.5], std: [0.25] },
} as const;

/** Loads and splits the data of a run. */
export async function prepareRunData(o: RunDataOptions): Promise<RunData> {
  if (o.dataset === 'folder') return folderData(o);
  const splits = await loadDataset(o.dataset, o.data);
  if (o.valCount >= splits.train.count) {
    fail('SENET_ARGUMENT', 'senet train', '--val', `fewer than the ${splits.train.count} training images of ${splits.train.name}`, String(o.valCount));
  }
  const { train: all, val } = splitValidation(splits.train, o.valCount, o.seed);
  const train = o.limit ? limitDataset(all, o.limit) : all;
  const { mean, std } = DATASET_NORMALIZATION[o.dataset];
  return {
    train,
    val,
    test: splits.test,
    trainAugment: augmentOptions(o.dataset, o.augment),
    evalAugment: augmentOptions(o.dataset, false),
    preprocessing: { height: train.height, width: train.width, channels: train.channels, mean: mean.slice(), std: std.slice(), classes: splits.train.classes.slice() },
  };
}

async function folderData(o: RunDataOptions): Promise<RunData> {
  const where = 'senet train --dataset folder';
  if (!o.data) fail('SENET_ARGUMENT', where, '--data', 'the folder of class subfolders (root/<class>/*.png, or root/train, root/val, root/test)', 'none');
  const channels = o.channels ?? 3;
  const size = o.size ?? 64;
  const splits = await loadImageFolderSplits(o.data, { size, channels });
  let train: ImageFolderDataset = splits.train;
  let val = splits.val;
  if (!val) {
    if (o.valGiven && o.valCount >= train.count) fail('SENET_ARGUMENT', where, '--val', `fewer than the ${train.count} images of ${train.name}`, String(o.valCount));
    const held = o.valGiven ? o.valCount : Math.floor(train.count / 10);
    ({ train, val } = splitValidation(train, held, o.seed));
  }
  if (o.limit) train = limitDataset(train, o.limit);
  const norm = FOLDER_NORMALIZATION[channels === 1 ? 1 : 3];
  const base = { mean: norm.mean.slice(), std: norm.std.slice() };
  return {
    train,
    val: val.count > 0 ? val : null,
    test: splits.test,
    // A random crop of an eighth of the side, padded, and flips: for long runs (--augment).
    trainAugment: { cropPadding: o.augment ? Math.max(1, Math.round(size / 8)) : 0, flip: o.augment, ...base },
    evalAugment: { cropPadding: 0, flip: false, ...base },
    preprocessing: { height: train.height, width: train.width, channels, ...base, classes: train.classes.slice() },
  };
}
