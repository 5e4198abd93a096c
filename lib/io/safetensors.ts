/**
 * The safetensors format (huggingface): an 8-byte little-endian header length N, N bytes of UTF-8
 * JSON naming each tensor's dtype, shape and byte range, then the raw little-endian data.
 * The parser validates like the format's own Rust implementation, so a malformed or hostile file
 * gives a `SENET_FORMAT` error, never a crash, a hang or a huge allocation. Typed arrays use the
 * host's byte order; senet supports little-endian hosts only.
 */
import * as fs from 'node:fs';
import { SenetError } from '../errors';
import { describe, fail } from '../validate';
import { systemMessage, writeFileAtomic, writeFileAtomicAsync } from './atomic';

/** The element types safetensors names. */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** One tensor read from a file. */
export interface SafetensorsTensor {
  /** Element type. */
  dtype: SafetensorsDType;
  /** Sizes, outermost first; `[]` is a scalar. */
  shape: number[];
  /** Raw little-endian bytes: a view into the file's buffer, possibly unaligned (see `toFloat32`). */
  data: Uint8Array;
}

/** A parsed file: tensors in file order, and the `__metadata__` strings (`{}` if absent). */
export interface SafetensorsFile {
  /** Tensors by name. */
  tensors: Map<string, SafetensorsTensor>;
  /** The `__metadata__` object. */
  metadata: Record<string, string>;
}

/** One tensor to write: `data.byteLength` must equal product(shape) × dtypeSize(dtype). */
export interface TensorToWrite {
  /** Element type. */
  dtype: SafetensorsDType;
  /** Sizes, outermost first. */
  shape: readonly number[];
  /** The elements in host (little-endian) order, e.g. a Float32Array for F32, Uint16Array for F16. */
  data: ArrayBufferView;
}

const DTYPE_SIZE: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

/** The same limit as the Rust implementation, so that a corrupt length cannot make us allocate gigabytes. */
const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = '__metadata__';

function isDType(value: unknown): value is SafetensorsDType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZE, value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Bytes per element of `d`. */
export function dtypeSize(d: SafetensorsDType): number {
  if (!isDType(d)) fail('SENET_ARGUMENT', 'dtypeSize', 'dtype', `one of ${Object.keys(DTYPE_SIZE).join(', ')}`, describe(d));
  return DTYPE_SIZE[d];
}

/** product(shape) × size as a BigInt, so that huge shapes cannot overflow into a false match. */
function byteSize(shape: readonly number[], dtype: SafetensorsDType): bigint {
  return shape.reduce((n, d) => n * BigInt(d), BigInt(DTYPE_SIZE[dtype]));
}

/** A tensor name for messages, cut short: a hostile header may hold a name of megabytes. */
function quote(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Parses a safetensors file held in `bytes`; `source` (a path) names it in errors.
 * A byte-order mark is kept (ignoreBOM) so that JSON.parse rejects it, as the Rust parser does.
 * The tensors' `data` are views into `bytes`, which must therefore stay unchanged.
 */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsFile {
  const where = source;
  if (!(bytes instanceof Uint8Array)) fail('SENET_ARGUMENT', 'parseSafetensors', 'bytes', 'a Uint8Array or Buffer', describe(bytes));
  if (bytes.byteLength < 8) fail('SENET_FORMAT', where, 'file', 'at least 8 bytes (the header length)', `${bytes.byteLength} bytes`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    fail('SENET_FORMAT', where, 'header length', `at most ${MAX_HEADER_BYTES} bytes`, `${headerLength}`);
  }
  if (headerLength > BigInt(bytes.byteLength - 8)) {
    fail('SENET_FORMAT', where, 'header length', `at most ${bytes.byteLength - 8} (the bytes after it in the file)`, `${headerLength}`);
  }
  const dataStart = 8 + Number(headerLength);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, dataStart));
  } catch {
    fail('SENET_FORMAT', where, 'header', 'valid UTF-8', 'invalid bytes');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    fail('SENET_FORMAT', where, 'header', 'valid JSON', `a syntax error (${(err as Error).message})`);
  }
  if (!isPlainObject(header)) fail('SENET_FORMAT', where, 'header', 'a JSON object', describe(header));

  const entries: { name: string; tensor: SafetensorsTensor; begin: number; end: number }[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === METADATA_KEY) metadata = parseMetadata(where, entry);
    else entries.push(parseEntry(where, name, entry));
  }

  // Sorted by byte range, each tensor must start where the previous one ended and the last must
  // end at the end of the file: no overlap (aliasing), no gap, no trailing bytes.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const data = new Uint8Array(bytes.buffer, bytes.byteOffset + dataStart, bytes.byteLength - dataStart);
  let expected = 0;
  let previous = 'the data starts';
  for (const e of entries) {
    if (e.begin !== expected) {
      const why = e.begin < expected ? 'tensors must not overlap' : 'no gap between tensors';
      fail('SENET_FORMAT', where, `tensor ${quote(e.name)}: data_offsets`,
        `a begin of ${expected}, where ${previous} (${why})`, `[${e.begin}, ${e.end}]`);
    }
    if (e.end > data.byteLength) {
      fail('SENET_FORMAT', where, `tensor ${quote(e.name)}: data_offsets`,
        `an end within the ${data.byteLength} data bytes (is the file truncated?)`, `[${e.begin}, ${e.end}]`);
    }
    e.tensor.data = data.subarray(e.begin, e.end);
    expected = e.end;
    previous = `tensor ${quote(e.name)} ends`;
  }
  if (expected !== data.byteLength) {
    const ends = entries.length > 0 ? `the end of the last tensor, ${quote(entries[entries.length - 1].name)}` : 'no tensors';
    fail('SENET_FORMAT', where, 'data', `${expected} bytes (${ends})`, `${data.byteLength} bytes (trailing bytes)`);
  }
  return { tensors: new Map(entries.map((e) => [e.name, e.tensor])), metadata };
}

function parseEntry(where: string, name: string, entry: unknown) {
  const what = `tensor ${quote(name)}`;
  if (!isPlainObject(entry)) fail('SENET_FORMAT', where, what, 'an object with dtype, shape and data_offsets', describe(entry));
  const { dtype, shape, data_offsets: offsets } = entry;
  if (!isDType(dtype)) fail('SENET_FORMAT', where, `${what}: dtype`, `one of ${Object.keys(DTYPE_SIZE).join(', ')}`, describe(dtype));
  if (!Array.isArray(shape)) fail('SENET_FORMAT', where, `${what}: shape`, 'an array of sizes', describe(shape));
  shape.forEach((d, i) => {
    if (!Number.isSafeInteger(d) || (d as number) < 0) fail('SENET_FORMAT', where, `${what}: shape[${i}]`, 'an integer >= 0', describe(d));
  });
  const ok = Array.isArray(offsets) && offsets.length === 2 && offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0);
  if (!ok) fail('SENET_FORMAT', where, `${what}: data_offsets`, '[begin, end], integers >= 0', describe(offsets));
  const [begin, end] = offsets as number[];
  if (begin > end) fail('SENET_FORMAT', where, `${what}: data_offsets`, 'begin <= end', `[${begin}, ${end}]`);
  const size = byteSize(shape as number[], dtype);
  if (size !== BigInt(end - begin)) {
    fail('SENET_FORMAT', where, `${what}: data_offsets`, `${size} bytes for ${dtype} ${shapeText(shape as number[])}`,
      `[${begin}, ${end}] (${end - begin} bytes)`);
  }
  // data is filled in once the byte ranges are checked.
  return { name, begin, end, tensor: { dtype, shape: (shape as number[]).slice(), data: new Uint8Array(0) } };
}

function parseMetadata(where: string, value: unknown): Record<string, string> {
  if (!isPlainObject(value)) fail('SENET_FORMAT', where, METADATA_KEY, 'an object of strings', describe(value));
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') fail('SENET_FORMAT', where, `${METADATA_KEY}[${quote(k)}]`, 'a string', describe(v));
  }
  // fromEntries defines own properties, so a "__proto__" key stays data, not a prototype.
  return Object.fromEntries(Object.entries(value)) as Record<string, string>;
}

/**
 * Reads and parses a safetensors file; `SENET_IO` naming the path if it cannot be read.
 * Blocking: the event loop stops while the file is read; `readSafetensorsAsync` does not block.
 */
export function readSafetensors(path: string): SafetensorsFile {
  if (typeof path !== 'string') fail('SENET_ARGUMENT', 'readSafetensors', 'path', 'a string', describe(path));
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(path);
  } catch (err) {
    throw cannotRead('readSafetensors', path, err);
  }
  return parseSafetensors(bytes, path);
}

/**
 * As `readSafetensors`, without blocking the event loop: the file is read through fs.promises,
 * then validated as `parseSafetensors` does (which only walks the header, not the data).
 */
export async function readSafetensorsAsync(path: string): Promise<SafetensorsFile> {
  if (typeof path !== 'string') fail('SENET_ARGUMENT', 'readSafetensorsAsync', 'path', 'a string', describe(path));
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(path);
  } catch (err) {
    throw cannotRead('readSafetensorsAsync', path, err);
  }
  return parseSafetensors(bytes, path);
}

function cannotRead(where: string, path: string, err: unknown): SenetError {
  return new SenetError('SENET_IO', `${where}: cannot read ${JSON.stringify(path)}: ${systemMessage(err)}`);
}

/**
 * JSON text of a string with every character outside printable ASCII escaped, as Python's
 * `json.dumps` writes it, so that files from PyTorch tools re-serialize byte for byte.
 */
function jsonString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The bytes of a safetensors file: tensors sorted by name (code point order, as Python's `sorted`),
 * compact JSON with keys dtype, shape, data_offsets, `__metadata__` last when it has entries, and
 * the header padded with spaces to a multiple of 8 bytes (so the data starts 8-byte aligned).
 * `SENET_ARGUMENT` if a tensor's data size does not match its shape and dtype. Metadata keys keep the
 * object's order (JavaScript puts integer-like keys first).
 */
export function serializeSafetensors(
  tensors: Record<string, TensorToWrite> | ReadonlyMap<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Buffer {
  const chunks = layout('serializeSafetensors', tensors, metadata);
  return Buffer.concat(chunks, chunks.reduce((n, c) => n + c.byteLength, 0));
}

/** The file as chunks: the length and header, then each tensor's bytes (views, not copies). */
function layout(
  where: string,
  tensors: Record<string, TensorToWrite> | ReadonlyMap<string, TensorToWrite>,
  metadata: Record<string, string> | undefined,
): Uint8Array[] {
  if (!isPlainObject(tensors) && !(tensors instanceof Map)) fail('SENET_ARGUMENT', where, 'tensors', 'an object or a Map', describe(tensors));
  const list = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)) as [string, TensorToWrite][];
  const named = list.map(([name, t]) => ({ name, key: Buffer.from(name, 'utf8'), t, bytes: checkTensor(where, name, t) }));
  named.sort((a, b) => Buffer.compare(a.key, b.key));

  const parts: string[] = [];
  let offset = 0;
  for (const { name, t, bytes } of named) {
    const end = offset + bytes.byteLength;
    parts.push(`${jsonString(name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) fail('SENET_ARGUMENT', where, 'metadata', 'an object of strings', describe(metadata));
    const fields = Object.entries(metadata).map(([k, v]) => {
      if (typeof v !== 'string') fail('SENET_ARGUMENT', where, `metadata[${JSON.stringify(k)}]`, 'a string', describe(v));
      return `${jsonString(k)}:${jsonString(v)}`;
    });
    // An empty object is left out, so that a file without metadata reads and rewrites unchanged.
    if (fields.length > 0) parts.push(`"${METADATA_KEY}":{${fields.join(',')}}`);
  }
  let header = `{${parts.join(',')}}`;
  header += ' '.repeat((8 - (header.length % 8)) % 8); // ASCII only, so length is the byte count
  if (header.length > MAX_HEADER_BYTES) fail('SENET_ARGUMENT', where, 'header', `at most ${MAX_HEADER_BYTES} bytes`, `${header.length} bytes`);

  const head = Buffer.alloc(8 + header.length);
  head.writeBigUInt64LE(BigInt(header.length), 0);
  head.write(header, 8, 'latin1');
  return [head, ...named.map((n) => n.bytes)];
}

function checkTensor(where: string, name: string, t: TensorToWrite): Uint8Array {
  const what = `tensor ${quote(name)}`;
  if (name === METADATA_KEY) fail('SENET_ARGUMENT', where, 'tensor name', `a name other than ${METADATA_KEY}`, describe(name));
  if (!isPlainObject(t)) fail('SENET_ARGUMENT', where, what, 'an object with dtype, shape and data', describe(t));
  if (!isDType(t.dtype)) fail('SENET_ARGUMENT', where, `${what}: dtype`, `one of ${Object.keys(DTYPE_SIZE).join(', ')}`, describe(t.dtype));
  if (!Array.isArray(t.shape)) fail('SENET_ARGUMENT', where, `${what}: shape`, 'an array of sizes', describe(t.shape));
  t.shape.forEach((d, i) => {
    if (!Number.isSafeInteger(d) || d < 0) fail('SENET_ARGUMENT', where, `${what}: shape[${i}]`, 'an integer >= 0', describe(d));
  });
  if (!ArrayBuffer.isView(t.data)) fail('SENET_ARGUMENT', where, `${what}: data`, 'a typed array', describe(t.data));
  const size = byteSize(t.shape, t.dtype);
  if (size !== BigInt(t.data.byteLength)) {
    fail('SENET_ARGUMENT', where, `${what}: data`, `${size} bytes for ${t.dtype} ${shapeText(t.shape)}`, `${t.data.byteLength} bytes (${describe(t.data)})`);
  }
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/**
 * Writes a safetensors file atomically (see `writeFileAtomic`); arguments as `serializeSafetensors`.
 * Blocking: the event loop stops until the file is on disk; `writeSafetensorsAsync` does not block.
 */
export function writeSafetensors(
  path: string,
  tensors: Record<string, TensorToWrite> | ReadonlyMap<string, TensorToWrite>,
  metadata?: Record<string, string>,
): void {
  // Chunks rather than one buffer: a large checkpoint is not copied in memory before writing.
  writeFileAtomic(path, layout('writeSafetensors', tensors, metadata));
}

/**
 * As `writeSafetensors` (the same bytes), without blocking the event loop (see
 * `writeFileAtomicAsync`); bad arguments reject with `SENET_ARGUMENT`. The tensors' data are written
 * from where they lie, not copied, so they must not change (nor be freed) until the promise settles.
 */
export async function writeSafetensorsAsync(
  path: string,
  tensors: Record<string, TensorToWrite> | ReadonlyMap<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomicAsync(path, layout('writeSafetensorsAsync', tensors, metadata));
}

/** The element count, checked against the bytes (a caller may have built the tensor by hand). */
function elementCount(where: string, what: string, t: SafetensorsTensor): number {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (n * DTYPE_SIZE[t.dtype] !== t.data.byteLength) {
    fail('SENET_ARGUMENT', where, `${what}: data`, `${n * DTYPE_SIZE[t.dtype]} bytes for ${t.dtype} ${shapeText(t.shape)}`, `${t.data.byteLength} bytes`);
  }
  return n;
}

/** An aligned copy of the bytes as `Ctor` elements (the view into a file may sit at any offset). */
function alignedCopy<T extends ArrayBufferView>(data: Uint8Array, Ctor: new (length: number) => T, n: number): T {
  const out = new Ctor(n);
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(data);
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * The values as a new Float32Array: F32 copied (so it is aligned and independent of the file buffer),
 * F64 rounded, F16 and BF16 widened exactly. Other dtypes give `SENET_FORMAT` naming the tensor.
 */
export function toFloat32(t: SafetensorsTensor, name?: string): Float32Array {
  const where = 'toFloat32';
  const what = name === undefined ? 'tensor' : `tensor ${quote(name)}`;
  const n = elementCount(where, what, t);
  switch (t.dtype) {
    case 'F32':
      return alignedCopy(t.data, Float32Array, n);
    case 'F64':
      return Float32Array.from(alignedCopy(t.data, Float64Array, n));
    case 'F16': {
      const h = alignedCopy(t.data, Uint16Array, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(h[i]);
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const h = alignedCopy(t.data, Uint16Array, n);
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = h[i] << 16;
      return out;
    }
    default:
      return fail('SENET_FORMAT', where, `${what}: dtype`, 'F32, F64, F16 or BF16', t.dtype);
  }
}

/**
 * The values as a new BigInt64Array: I64 copied, I32, I16, I8, U32, U16 and U8 widened.
 * Other dtypes (floats, U64 which may not fit, BOOL) give `SENET_FORMAT` naming the tensor.
 */
export function toBigInt64(t: SafetensorsTensor, name?: string): BigInt64Array {
  const where = 'toBigInt64';
  const what = name === undefined ? 'tensor' : `tensor ${quote(name)}`;
  const n = elementCount(where, what, t);
  const widen = (src: ArrayLike<number>) => {
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) out[i] = BigInt(src[i]);
    return out;
  };
  switch (t.dtype) {
    case 'I64':
      return alignedCopy(t.data, BigInt64Array, n);
    case 'I32':
      return widen(alignedCopy(t.data, Int32Array, n));
    case 'I16':
      return widen(alignedCopy(t.data, Int16Array, n));
    case 'I8':
      return widen(alignedCopy(t.data, Int8Array, n));
    case 'U32':
      return widen(alignedCopy(t.data, Uint32Array, n));
    case 'U16':
      return widen(alignedCopy(t.data, Uint16Array, n));
    case 'U8':
      return widen(t.data);
    default:
      return fail('SENET_FORMAT', where, `${what}: dtype`, 'I64, I32, I16, I8, U32, U16 or U8', t.dtype);
  }
}
