/**
 * LeCun's IDX format (MNIST, Fashion-MNIST): a big-endian header, magic 0x000008NN where 08 says
 * unsigned bytes and NN the number of dimensions, then one u32 size per dimension, then the data.
 */
import { fail } from '../validate';
import { loadOptions, readMaybeGzip, readMaybeGzipSync, type ExpectedSize, type LoadOptions } from './read';

/** Images read from an IDX3 file: (count, rows, cols) bytes. */
export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  data: Uint8Array;
}

/** The sizes an IDX header declares and the header's length; SENET_FORMAT if it is not one of `dims` u8 dimensions. */
function parseIdxHeader(where: string, file: string, bytes: Uint8Array, dims: number): { sizes: number[]; header: number } {
  const header = 4 + 4 * dims;
  const expectedMagic = 0x800 + dims;
  const hex = (m: number) => `0x${m.toString(16).padStart(8, '0')}`;
  if (bytes.length < header) fail('SENET_FORMAT', where, file, `an IDX header of ${header} bytes`, `${bytes.length} bytes (truncated)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) fail('SENET_FORMAT', where, file, `IDX magic ${hex(expectedMagic)} (u8, ${dims}-d)`, `magic ${hex(magic)}`);
  const sizes: number[] = [];
  for (let d = 0; d < dims; d++) sizes.push(view.getUint32(4 + 4 * d, false));
  return { sizes, header };
}

/**
 * The total size (header and data) an IDX file of `dims` dimensions promises, read from its first
 * bytes as they are gunzipped; SENET_FORMAT at once if they are no such header.
 */
function idxExpectedSize(where: string, file: string, dims: number): ExpectedSize {
  return (head) => {
    if (head.length < 4 + 4 * dims) return undefined;
    const { sizes, header } = parseIdxHeader(where, file, head, dims);
    return header + sizes.reduce((a, b) => a * b, 1);
  };
}

/** Parses IDX bytes whose magic must be 0x000008NN with NN = `dims`; returns the sizes and the data. */
export function parseIdx(where: string, file: string, bytes: Uint8Array, dims: number): { sizes: number[]; data: Uint8Array } {
  const { sizes, header } = parseIdxHeader(where, file, bytes, dims);
  const n = sizes.reduce((a, b) => a * b, 1);
  const shape = sizes.join('x');
  if (bytes.length < header + n) {
    fail('SENET_FORMAT', where, file, `${n} data bytes for ${shape}`, `${bytes.length - header} (truncated)`);
  }
  if (bytes.length > header + n) {
    fail('SENET_FORMAT', where, file, `${n} data bytes for ${shape}`, `${bytes.length - header - n} trailing bytes after them`);
  }
  // A view, not a copy: Fashion-MNIST's train images are 47 MB.
  return { sizes, data: bytes.subarray(header) };
}

/**
 * Every size of a dataset's IDX file is at least 1: a file of no images (or of 0-pixel images)
 * is well-formed IDX but no dataset, and would only fail later, far from the file.
 */
function checkNonEmpty(where: string, file: string, sizes: number[], what: string): void {
  if (sizes.some((s) => s === 0)) fail('SENET_FORMAT', where, file, `at least one ${what} (every size >= 1)`, `sizes ${sizes.join('x')}`);
}

/** The sizes and data of an IDX3 image file. */
function toImages(where: string, file: string, { sizes, data }: { sizes: number[]; data: Uint8Array }): IdxImages {
  checkNonEmpty(where, file, sizes, 'image of at least 1x1 pixels');
  return { count: sizes[0], rows: sizes[1], cols: sizes[2], data };
}

/** Reads an IDX3 u8 image file (magic 0x00000803), gzipped or not. Blocking. */
export function readIdxImagesSync(where: string, file: string, options?: LoadOptions): IdxImages {
  const { maxBytes } = loadOptions(where, options);
  return toImages(where, file, parseIdx(where, file, readMaybeGzipSync(where, file, maxBytes), 3));
}

/**
 * Reads an IDX3 u8 image file (magic 0x00000803), gzipped or not, without blocking: gunzip stops
 * once past the size the header promises or `options.maxBytes`.
 */
export async function readIdxImages(where: string, file: string, options?: LoadOptions): Promise<IdxImages> {
  const { maxBytes } = loadOptions(where, options);
  const bytes = await readMaybeGzip(where, file, maxBytes, idxExpectedSize(where, file, 3));
  return toImages(where, file, parseIdx(where, file, bytes, 3));
}

/** Reads an IDX1 u8 label file (magic 0x00000801), gzipped or not; every label must be < `classes`. Blocking. */
export function readIdxLabelsSync(where: string, file: string, classes: number, options?: LoadOptions): Uint8Array {
  const { maxBytes } = loadOptions(where, options);
  const { sizes, data } = parseIdx(where, file, readMaybeGzipSync(where, file, maxBytes), 1);
  checkNonEmpty(where, file, sizes, 'label');
  checkLabels(where, file, data, classes);
  return data;
}

/** As `readIdxLabelsSync`, without blocking (see `readIdxImages`). */
export async function readIdxLabels(where: string, file: string, classes: number, options?: LoadOptions): Promise<Uint8Array> {
  const { maxBytes } = loadOptions(where, options);
  const { sizes, data } = parseIdx(where, file, await readMaybeGzip(where, file, maxBytes, idxExpectedSize(where, file, 1)), 1);
  checkNonEmpty(where, file, sizes, 'label');
  checkLabels(where, file, data, classes);
  return data;
}

/** Throws SENET_FORMAT naming the first label ≥ `classes`, its index and value. */
export function checkLabels(where: string, file: string, labels: Uint8Array | Int32Array, classes: number): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= classes) fail('SENET_FORMAT', where, `${file}: label ${i}`, `a class in [0, ${classes - 1}]`, `${labels[i]}`);
  }
}
