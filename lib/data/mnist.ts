/**
 * MNIST and Fashion-MNIST from their four IDX files (each gzipped or not).
 */
import { describe, fail } from '../validate';
import type { DatasetSplits, ImageDataset } from './dataset';
import { readIdxImages, readIdxImagesSync, readIdxLabels, readIdxLabelsSync, type IdxImages } from './idx';
import { allInOrder, findFile, findFileSync, loadOptions, type LoadOptions } from './read';

/** Fashion-MNIST's class names, in label order. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

/** MNIST's class names: the digits. */
export const MNIST_CLASSES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Where Debian's dataset-fashion-mnist package puts the files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Where loadMnist and loadMnistSync look by default. */
export const MNIST_DIR = '/usr/share/datasets/mnist';

const FASHION_HINT = "install Debian's package (`apt-get install dataset-fashion-mnist`) or pass --data DIR";
const MNIST_HINT = 'pass --data DIR, a directory holding the four MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz)';
const FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

/**
 * Loads Fashion-MNIST (60000 train, 10000 test, 28x28x1) from `dir` without blocking the event loop:
 * the files are read through fs.promises and gunzipped by a stream, each file refused with
 * SENET_FORMAT once it inflates past the size its header promises or `options.maxBytes`.
 */
export function loadFashionMnist(dir: string = FASHION_MNIST_DIR, options?: LoadOptions): Promise<DatasetSplits> {
  return loadIdxSplits('loadFashionMnist', 'fashion-mnist', dir, FASHION_MNIST_CLASSES, FASHION_HINT, options);
}

/** As `loadFashionMnist`, but blocking: the event loop stops until all four files are read and gunzipped. */
export function loadFashionMnistSync(dir: string = FASHION_MNIST_DIR, options?: LoadOptions): DatasetSplits {
  return loadIdxSplitsSync('loadFashionMnistSync', 'fashion-mnist', dir, FASHION_MNIST_CLASSES, FASHION_HINT, options);
}

/** Loads MNIST (60000 train, 10000 test, 28x28x1) from `dir` without blocking (see `loadFashionMnist`). */
export function loadMnist(dir: string = MNIST_DIR, options?: LoadOptions): Promise<DatasetSplits> {
  return loadIdxSplits('loadMnist', 'mnist', dir, MNIST_CLASSES, MNIST_HINT, options);
}

/** As `loadMnist`, but blocking. */
export function loadMnistSync(dir: string = MNIST_DIR, options?: LoadOptions): DatasetSplits {
  return loadIdxSplitsSync('loadMnistSync', 'mnist', dir, MNIST_CLASSES, MNIST_HINT, options);
}

function checkDir(where: string, dir: unknown): void {
  if (typeof dir !== 'string' || dir === '') fail('SENET_ARGUMENT', where, 'dir', 'a directory path', describe(dir));
}

/** Both splits of an MNIST-layout directory, the four files read concurrently. */
async function loadIdxSplits(where: string, name: string, dir: string, classes: readonly string[], hint: string, options?: LoadOptions): Promise<DatasetSplits> {
  checkDir(where, dir);
  loadOptions(where, options);
  // Look for all four first, so a missing one is reported before any is decoded.
  const files: string[] = [];
  for (const f of FILES) files.push(await findFile(where, dir, f, hint));
  // Read concurrently, but report the first failure in file order, as the blocking loader does.
  const [trainImages, trainLabels, testImages, testLabels] = await allInOrder<[IdxImages, Uint8Array, IdxImages, Uint8Array]>([
    readIdxImages(where, files[0], options),
    readIdxLabels(where, files[1], classes.length, options),
    readIdxImages(where, files[2], options),
    readIdxLabels(where, files[3], classes.length, options),
  ]);
  return sameImageSize(where, files, {
    train: idxSplit(where, `${name}/train`, trainImages, files[0], trainLabels, files[1], classes),
    test: idxSplit(where, `${name}/test`, testImages, files[2], testLabels, files[3], classes),
  });
}

/** As `loadIdxSplits`, blocking. */
function loadIdxSplitsSync(where: string, name: string, dir: string, classes: readonly string[], hint: string, options?: LoadOptions): DatasetSplits {
  checkDir(where, dir);
  loadOptions(where, options);
  const files = FILES.map((f) => findFileSync(where, dir, f, hint));
  const split = (imageFile: string, labelFile: string, split: string) => {
    const images = readIdxImagesSync(where, imageFile, options);
    const labels = readIdxLabelsSync(where, labelFile, classes.length, options);
    return idxSplit(where, `${name}/${split}`, images, imageFile, labels, labelFile, classes);
  };
  return sameImageSize(where, files, { train: split(files[0], files[1], 'train'), test: split(files[2], files[3], 'test') });
}

/** A model trains on one image size: test images of another size are refused, naming both files. */
function sameImageSize(where: string, files: string[], splits: DatasetSplits): DatasetSplits {
  const { train, test } = splits;
  if (train.height !== test.height || train.width !== test.width) {
    fail('SENET_FORMAT', where, files[2]!, `images of ${train.height}x${train.width} pixels, as in ${files[0]}`, `${test.height}x${test.width}`);
  }
  return splits;
}

/** One split: images and their labels, which must have the same count. */
function idxSplit(where: string, name: string, images: IdxImages, imageFile: string, labels: Uint8Array, labelFile: string, classes: readonly string[]): ImageDataset {
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
