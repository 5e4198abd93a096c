/**
 * Reading dataset files, gzipped or not, with a size limit: synchronously (blocking) or through
 * fs.promises and a streaming gunzip that inflates on libuv's thread pool, chunk by chunk, and
 * stops as soon as the output passes its limit, so that a gzip bomb is refused before it is inflated.
 */
import { constants as bufferConstants } from 'node:buffer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { SenetError } from '../errors';
import { checkInt, checkOptions, fail } from '../validate';

/** Options of the dataset loaders. */
export interface LoadOptions {
  /**
   * The most bytes one file may hold once gunzipped (or on disk, when it is not gzipped);
   * a larger file, or a gzip stream that inflates past it, is refused with `SENET_FORMAT`.
   * Default `DEFAULT_MAX_BYTES` (2 GiB).
   */
  maxBytes?: number;
}

/** The default `maxBytes`: 2 GiB, some forty times Fashion-MNIST's largest file. */
export const DEFAULT_MAX_BYTES = Math.min(2 ** 31, bufferConstants.MAX_LENGTH);

/** The largest `maxBytes` accepted: the largest Buffer this Node.js can allocate. */
const MAX_MAX_BYTES = bufferConstants.MAX_LENGTH;

/** Bytes read per call from a plain file, and the gunzip stream's chunk size. */
const READ_CHUNK = 4 * 1024 * 1024;
const INFLATE_CHUNK = 256 * 1024;

/** The checked options with their defaults. */
export function loadOptions(where: string, options: LoadOptions | undefined): Required<LoadOptions> {
  const o = checkOptions(where, options);
  const maxBytes = o.maxBytes === undefined ? DEFAULT_MAX_BYTES : checkInt(where, 'options.maxBytes', o.maxBytes, 1, MAX_MAX_BYTES);
  return { maxBytes };
}

/**
 * What a reader knows of the size a file should have once gunzipped: given the first bytes,
 * the total its header promises, or `undefined` until enough bytes have arrived to tell.
 */
export type ExpectedSize = (head: Uint8Array) => number | undefined;

/** Finds `name` or `name.gz` in `dir`, or throws SENET_IO naming the path and ending with `hint`. Blocking. */
export function findFileSync(where: string, dir: string, name: string, hint: string): string {
  for (const candidate of [name, `${name}.gz`]) {
    const file = path.join(dir, candidate);
    if (fs.existsSync(file)) return file;
  }
  return notFound(where, dir, name, hint);
}

/** As `findFileSync`, without blocking. */
export async function findFile(where: string, dir: string, name: string, hint: string): Promise<string> {
  for (const candidate of [name, `${name}.gz`]) {
    const file = path.join(dir, candidate);
    try {
      await fs.promises.access(file);
      return file;
    } catch {
      // Try the next name.
    }
  }
  return notFound(where, dir, name, hint);
}

function notFound(where: string, dir: string, name: string, hint: string): never {
  throw new SenetError('SENET_IO', `${where}: ${path.join(dir, name)}[.gz]: file not found; ${hint}`);
}

/** The SENET_IO error for a file that cannot be read. */
export function cannotRead(where: string, file: string, err: unknown): SenetError {
  return new SenetError('SENET_IO', `${where}: ${file}: cannot read: ${(err as Error).message}`);
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function tooLargeOnDisk(where: string, file: string, size: number, maxBytes: number): never {
  return fail('SENET_FORMAT', where, file, `at most ${maxBytes} bytes (the maxBytes option)`, `a file of ${size} bytes`);
}

function corruptGzip(where: string, file: string, err: unknown): never {
  return fail('SENET_FORMAT', where, file, 'a valid gzip stream', `a corrupt one (${(err as Error).message})`);
}

/**
 * The bytes of `file`, gunzipped when they start with the gzip magic 1f 8b, at most `maxBytes`.
 * Blocking: the whole file is read and inflated on the calling thread.
 */
export function readMaybeGzipSync(where: string, file: string, maxBytes: number): Uint8Array {
  let raw: Buffer;
  try {
    const size = fs.statSync(file).size;
    if (size > maxBytes && !isGzip(readHeadSync(file))) tooLargeOnDisk(where, file, size, maxBytes);
    raw = fs.readFileSync(file);
  } catch (err) {
    if (err instanceof SenetError) throw err;
    throw cannotRead(where, file, err);
  }
  if (!isGzip(raw)) return raw;
  try {
    return zlib.gunzipSync(raw, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') inflatedTooFar(where, file, maxBytes, undefined);
    return corruptGzip(where, file, err);
  }
}

function readHeadSync(file: string): Uint8Array {
  const head = Buffer.alloc(2);
  const fd = fs.openSync(file, 'r');
  try {
    return head.subarray(0, fs.readSync(fd, head, 0, 2, 0));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * As `readMaybeGzipSync` without blocking: the file is read through fs.promises and gunzipped by a
 * stream. `expected`, when given, tells the total size from the first bytes (an IDX header); the
 * stream then stops as soon as the output passes min(that, `maxBytes`), so that neither a gzip bomb
 * nor a lying header is inflated further. SENET_IO if the file cannot be read, SENET_FORMAT if it is
 * too large or its gzip stream is corrupt or truncated.
 */
export async function readMaybeGzip(where: string, file: string, maxBytes: number, expected?: ExpectedSize): Promise<Uint8Array> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (err) {
    throw cannotRead(where, file, err);
  }
  let streaming = false;
  try {
    const size = (await handle.stat()).size;
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    if (!isGzip(head.subarray(0, bytesRead))) {
      if (size > maxBytes) tooLargeOnDisk(where, file, size, maxBytes);
      return await readPlain(handle, size);
    }
    streaming = true; // the stream closes the handle
    return await gunzipStream(where, file, handle, maxBytes, expected);
  } catch (err) {
    if (err instanceof SenetError) throw err;
    throw cannotRead(where, file, err);
  } finally {
    if (!streaming) await handle.close().catch(() => undefined);
  }
}

/** A plain file's bytes, read in chunks at explicit offsets. */
async function readPlain(handle: fs.promises.FileHandle, size: number): Promise<Uint8Array> {
  const out = Buffer.allocUnsafe(size);
  let off = 0;
  while (off < size) {
    const { bytesRead } = await handle.read(out, off, Math.min(READ_CHUNK, size - off), off);
    if (bytesRead === 0) break; // shrank since stat: parsing reports it truncated
    off += bytesRead;
  }
  return out.subarray(0, off);
}

/**
 * Bytes tolerated past the size a header promises before gunzip stops, so that a few trailing
 * bytes are still counted exactly by the parser (the same message as the blocking reader).
 */
const TRAILING_SLACK = 64 * 1024;

/** Collects the gunzipped output into one buffer, refusing it once it passes its limit. */
async function gunzipStream(where: string, file: string, handle: fs.promises.FileHandle, maxBytes: number, expected?: ExpectedSize): Promise<Uint8Array> {
  const source = handle.createReadStream({ start: 0, highWaterMark: READ_CHUNK, autoClose: true });
  const gunzip = zlib.createGunzip({ chunkSize: INFLATE_CHUNK });
  let chunks: Buffer[] = []; // until the expected size is known
  let out: Buffer | undefined; // then one buffer of that size
  let length = 0;
  let promised: number | undefined;
  let limit = maxBytes;
  const accept = (chunk: Buffer) => {
    if (length + chunk.length > limit) inflatedTooFar(where, file, limit, promised);
    if (out) out.set(chunk, length);
    else chunks.push(chunk);
    length += chunk.length;
  };
  const learnSize = () => {
    promised = expected?.(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length));
    if (promised === undefined) return;
    if (promised > maxBytes) headerPromisesTooMuch(where, file, maxBytes, promised);
    limit = Math.min(promised + TRAILING_SLACK, maxBytes);
    if (length > limit) inflatedTooFar(where, file, limit, promised);
    out = Buffer.allocUnsafe(limit);
    let off = 0;
    for (const c of chunks) {
      out.set(c, off);
      off += c.length;
    }
    chunks = [];
  };
  // Our own refusal, kept: the pipeline may reject with the AbortError of the streams it tears down.
  let refusal: unknown;
  try {
    await pipeline(source, gunzip, async (inflated: AsyncIterable<Buffer>) => {
      try {
        for await (const chunk of inflated) {
          accept(chunk);
          if (!out && expected) learnSize();
        }
      } catch (err) {
        if (err instanceof SenetError) refusal = err;
        throw err;
      }
    });
  } catch (err) {
    if (refusal !== undefined) throw refusal;
    if (err instanceof SenetError) throw err;
    if (String((err as NodeJS.ErrnoException).code).startsWith('Z_')) corruptGzip(where, file, err);
    throw cannotRead(where, file, err);
  }
  if (out) return out.subarray(0, length);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length);
}

/**
 * SENET_FORMAT for a gzip stream refused at `limit` bytes, either the size its header `promised`
 * (plus a little slack) or the maxBytes option.
 */
function inflatedTooFar(where: string, file: string, limit: number, promised: number | undefined): never {
  const expected = promised === undefined || limit < promised + TRAILING_SLACK
    ? `at most ${limit} bytes once gunzipped (the maxBytes option)`
    : `${promised} bytes once gunzipped (the size its header promises)`;
  return fail('SENET_FORMAT', where, file, expected,
    `a gzip stream that inflates to more than ${limit}; stopped inflating there (a gzip bomb, or trailing data?)`);
}

/** SENET_FORMAT for a header that promises more than maxBytes, before anything more is inflated. */
function headerPromisesTooMuch(where: string, file: string, maxBytes: number, promised: number): never {
  return fail('SENET_FORMAT', where, file, `at most ${maxBytes} bytes once gunzipped (the maxBytes option)`,
    `a header promising ${promised}; refused before inflating it`);
}

/**
 * Awaits every promise (reads run concurrently), then throws the first rejection in argument order,
 * so that a directory with several bad files reports the same one as the blocking loader.
 */
export async function allInOrder<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(promises as readonly Promise<unknown>[]);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
