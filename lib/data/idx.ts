/**
 * LeCun's IDX format (MNIST, Fashion-MNIST): a big-endian header, magic 0x000008NN where 08 says
 * unsigned bytes and NN the number of dimensions, then one u32 size per dimension, then the data.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { SenetError } from '../errors';
import { fail } from '../validate';

/** Images read from an IDX3 file: (count, rows, cols) bytes. */
export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  data: Uint8Array;
}

/**
 * Finds `name` or `name.gz` in `dir`, or throws SENET_IO naming the path and ending with `hint`.
 */
export function findFile(where: string, dir: string, name: string, hint: string): string {
  for (const candidate of [name, `${name}.gz`]) {
    const file = path.join(dir, candidate);
    if (fs.existsSync(file)) return file;
  }
  throw new SenetError('SENET_IO', `${where}: ${path.join(dir, name)}[.gz]: file not found; ${hint}`);
}

/** The bytes of `file`, gunzipped when they start with the gzip magic 1f 8b. */
export function readMaybeGzip(where: string, file: string): Uint8Array {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (err) {
    throw new SenetError('SENET_IO', `${where}: ${file}: cannot read: ${(err as Error).message}`);
  }
  if (raw.length < 2 || raw[0] !== 0x1f || raw[1] !== 0x8b) return raw;
  try {
    return zlib.gunzipSync(raw);
  } catch (err) {
    return fail('SENET_FORMAT', where, file, 'a valid gzip stream', `a corrupt one (${(err as Error).message})`);
  }
}

/** Parses IDX bytes whose magic must be 0x000008NN with NN = `dims`; returns the sizes and the data. */
export function parseIdx(where: string, file: string, bytes: Uint8Array, dims: number): { sizes: number[]; data: Uint8Array } {
  const header = 4 + 4 * dims;
  const expectedMagic = 0x800 + dims;
  const hex = (m: number) => `0x${m.toString(16).padStart(8, '0')}`;
  if (bytes.length < header) fail('SENET_FORMAT', where, file, `an IDX header of ${header} bytes`, `${bytes.length} bytes (truncated)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) fail('SENET_FORMAT', where, file, `IDX magic ${hex(expectedMagic)} (u8, ${dims}-d)`, `magic ${hex(magic)}`);
  const sizes: number[] = [];
  for (let d = 0; d < dims; d++) sizes.push(view.getUint32(4 + 4 * d, false));
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

/** Reads an IDX3 u8 image file (magic 0x00000803), gzipped or not. */
export function readIdxImages(where: string, file: string): IdxImages {
  const { sizes, data } = parseIdx(where, file, readMaybeGzip(where, file), 3);
  return { count: sizes[0], rows: sizes[1], cols: sizes[2], data };
}

/** Reads an IDX1 u8 label file (magic 0x00000801), gzipped or not; every label must be < `classes`. */
export function readIdxLabels(where: string, file: string, classes: number): Uint8Array {
  const { data } = parseIdx(where, file, readMaybeGzip(where, file), 1);
  checkLabels(where, file, data, classes);
  return data;
}

/** Throws SENET_FORMAT naming the first label ≥ `classes`, its index and value. */
export function checkLabels(where: string, file: string, labels: Uint8Array, classes: number): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= classes) fail('SENET_FORMAT', where, `${file}: label ${i}`, `a class in [0, ${classes - 1}]`, `${labels[i]}`);
  }
}
