/**
 * senet's data layer: datasets from files, validation splits, augmentation and batch loading.
 */
export {
  splitValidation,
  limitDataset,
  checkSource,
  type DatasetName,
  type ImageSource,
  type ImageDataset,
  type DatasetSplits,
} from './dataset';
export { readIdxImages, readIdxImagesSync, readIdxLabels, readIdxLabelsSync, parseIdx, type IdxImages } from './idx';
export { DEFAULT_MAX_BYTES, type LoadOptions } from './read';
export {
  loadFashionMnist,
  loadFashionMnistSync,
  loadMnist,
  loadMnistSync,
  FASHION_MNIST_CLASSES,
  MNIST_CLASSES,
  FASHION_MNIST_DIR,
  MNIST_DIR,
} from './mnist';
export { loadCifar10, loadCifar10Sync, CIFAR10_CLASSES } from './cifar10';
export { loadDataset, loadDatasetSync, augmentOptions, DATASET_NAMES, DATASET_NORMALIZATION } from './catalog';
export { makeBatch, makeByteBatch, normalizationTable, checkAugment, DEFAULT_AUGMENT, type AugmentOptions, type Batch, type ByteBatch, type BatchStorage } from './augment';
export { BatchLoader, type BytesOption, type LoaderOptions } from './loader';
export { permutation } from './random';
export { loadImageFolder, loadImageFolderSplits, isFolderDataset, type ImageFolderDataset, type ImageFolderOptions, type ImageFolderSplits } from './folder';
