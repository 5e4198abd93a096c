/**
 * MNIST and Fashion-MNIST from their four IDX files (each gzipped or not).
 */
import { describe, fail } from '../validate';
import type { DatasetSplits, ImageDataset } from './dataset';
import { findFile, readIdxImages, readIdxLabels } from './idx';

/** Fashion-MNIST's class names, in label order. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

/** MNIST's class names: the digits. */
export const MNIST_CLASSES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Where Debian's dataset-fashion-mnist package puts the files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Where loadMnist looks by default. */
export const MNIST_DIR = '/usr/share/datasets/mnist';

/** Loads Fashion-MNIST (60000 train, 10000 test, 28x28x1) from `dir`. */
export function loadFashionMnist(dir: string = FASHION_MNIST_DIR): DatasetSplits {
  const hint = "install Debian's package (`apt-get install dataset-fashion-mnist`) or pass --data DIR";
  return loadIdxSplits('loadFashionMnist', 'fashion-mnist', dir, FASHION_MNIST_CLASSES, hint);
}

/** Loads MNIST (60000 train, 10000 test, 28x28x1) from `dir`. */
export function loadMnist(dir: string = MNIST_DIR): DatasetSplits {
  const hint = 'pass --data DIR, a directory holding the four MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz)';
  return loadIdxSplits('loadMnist', 'mnist', dir, MNIST_CLASSES, hint);
}

/** Both splits of an MNIST-layout directory. */
function loadIdxSplits(where: string, name: string, dir: string, classes: readonly string[], hint: string): DatasetSplits {
  if (typeof dir !== 'string' || dir === '') fail('SENET_ARGUMENT', where, 'dir', 'a directory path', describe(dir));
  // Look for all four first, so a missing one is reported before any is decoded.
  const files = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']
    .map((f) => findFile(where, dir, f, hint));
  return {
    train: loadIdxPair(where, `${name}/train`, files[0], files[1], classes),
    test: loadIdxPair(where, `${name}/test`, files[2], files[3], classes),
  };
}

/** One split: an image file and its label file, which must have the same count. */
function loadIdxPair(where: string, name: string, imageFile: string, labelFile: string, classes: readonly string[]): ImageDataset {
  const images = readIdxImages(where, imageFile);
  const labels = readIdxLabels(where, labelFile, classes.length);
  if (labels.length !== images.count) {
    fail('SENET_FORMAT', where, `${labelFile}`, `${images.count} labels, one per image of ${imageFile}`, `${labels.length}`);
  }
  return {
    name,
    images: images.data,
    labels,
    count: images.count,
    height: images.rows,
    width: images.cols,
    channels: 1,
    classes: classes.slice(),
  };
}
