/**
 * Your own images: a folder with one subfolder per class (`root/<class>/*.png|jpg|jpeg|webp`),
 * classes sorted by name as torchvision's ImageFolder sorts them. Only the file list is held:
 * images are decoded (and resized to the training size) per batch, in the loader's workers, so
 * a dataset larger than memory trains. `root/train` (with `root/val`, `root/test`) is used when
 * present; otherwise the folder itself is the training set.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SenetError } from '../errors';
import { checkGeometry } from '../images/decode';
import { checkInt, checkOptions, describe, fail } from '../validate';

/** Images listed by file, decoded when a batch needs them. */
export interface ImageFolderDataset {
  /** E.g. 'folder:/data/pets/train'. */
  name: string;
  /** One file per image, in dataset order. */
  files: string[];
  /** One class index per image. */
  labels: Int32Array;
  count: number;
  /** The size and channels images are decoded to. */
  height: number;
  width: number;
  channels: number;
  /** Class names (the subfolders, sorted); labels index into this array. */
  classes: string[];
}

/** Options of loadImageFolder. */
export interface ImageFolderOptions {
  /** Side of the square training images, or [height, width]; images are resized to cover it and center-cropped. */
  size: number | readonly [number, number];
  /** 1 (gray) or 3 (RGB); default 3. */
  channels?: number;
  /** File extensions taken, lower case; default png, jpg, jpeg, webp. */
  extensions?: readonly string[];
  /** Class names to use, in label order (e.g. the training split's for `val/`); default: the subfolders found. */
  classes?: readonly string[];
}

/** The splits of an image folder. */
export interface ImageFolderSplits {
  train: ImageFolderDataset;
  /** `root/val` when present. */
  val: ImageFolderDataset | null;
  /** `root/test` when present. */
  test: ImageFolderDataset | null;
}

const EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp'];

async function subfolders(where: string, dir: string): Promise<string[]> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new SenetError('SENET_IO', `${where}: ${dir}: cannot read the folder: ${(err as Error).message}`);
  }
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

/** Lists `root/<class>/<image>`; classes sorted by name, files sorted within a class. */
export async function loadImageFolder(root: string, options: ImageFolderOptions): Promise<ImageFolderDataset> {
  const where = 'loadImageFolder';
  if (typeof root !== 'string') fail('SENET_ARGUMENT', where, 'root', 'a folder path', describe(root));
  const o = checkOptions(where, options);
  const [height, width] = Array.isArray(o.size) ? [o.size[0] as number, o.size[1] as number] : [o.size as number, o.size as number];
  const g = checkGeometry(where, { height, width, channels: o.channels ?? 3 });
  const extensions = new Set((o.extensions ?? EXTENSIONS).map((e) => e.toLowerCase().replace(/^\./, '')));
  const found = await subfolders(where, root);
  const classes = o.classes ? o.classes.slice() : found;
  if (classes.length === 0) fail('SENET_IO', where, root, 'one subfolder per class (root/<class>/*.png|jpg|jpeg|webp)', 'no subfolders');
  const unknown = found.filter((c) => !classes.includes(c));
  if (unknown.length) fail('SENET_FORMAT', where, root, `only the classes ${classes.join(', ')}`, `also ${unknown.join(', ')}`);
  const files: string[] = [];
  const labels: number[] = [];
  for (let label = 0; label < classes.length; label++) {
    const dir = path.join(root, classes[label]!);
    let names: string[];
    try {
      names = (await fs.promises.readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && o.classes) continue; // a class absent from this split
      throw new SenetError('SENET_IO', `${where}: ${dir}: cannot read the folder: ${(err as Error).message}`);
    }
    for (const name of names.sort()) {
      const ext = path.extname(name).slice(1).toLowerCase();
      if (!extensions.has(ext)) continue;
      files.push(path.join(dir, name));
      labels.push(label);
    }
  }
  if (files.length === 0) fail('SENET_IO', where, root, `image files (${[...extensions].join(', ')}) in its class folders`, 'none');
  return { name: `folder:${root}`, files, labels: Int32Array.from(labels), count: files.length, ...g, classes };
}

/** `root/train` (+ `val`, `test`) when `root/train` exists, else `root` as the training set alone. */
export async function loadImageFolderSplits(root: string, options: ImageFolderOptions): Promise<ImageFolderSplits> {
  const has = async (name: string) => (await fs.promises.stat(path.join(root, name)).catch(() => null))?.isDirectory() === true;
  if (!(await has('train'))) return { train: await loadImageFolder(root, options), val: null, test: null };
  const train = await loadImageFolder(path.join(root, 'train'), options);
  const same = { ...options, classes: train.classes };
  const val = (await has('val')) ? await loadImageFolder(path.join(root, 'val'), same) : null;
  const test = (await has('test')) ? await loadImageFolder(path.join(root, 'test'), same) : null;
  return { train, val, test };
}

/** True for a dataset of files (decoded per batch) rather than bytes in memory. */
export function isFolderDataset(ds: unknown): ds is ImageFolderDataset {
  return typeof ds === 'object' && ds !== null && Array.isArray((ds as ImageFolderDataset).files);
}

/** Checks a folder dataset's arrays; returns its count. */
export function checkFolderDataset(where: string, ds: ImageFolderDataset): number {
  const count = checkInt(where, 'dataset.count', ds.count, 0);
  if (ds.files.length !== count || !(ds.labels instanceof Int32Array) || ds.labels.length !== count) {
    fail('SENET_ARGUMENT', where, 'dataset', `${count} files and ${count} labels (an Int32Array)`, `${ds.files.length} files and ${describe(ds.labels)}`);
  }
  checkGeometry(where, ds);
  return count;
}
