/**
 * Tensors: typed handles on native memory (host for 'cpu', GPU for 'cuda'). Activations are
 * channels-last, (N, H, W, C). Work on a tensor is queued on its device's executor and runs off
 * the JavaScript thread, in order: `await t.data()` reads it without blocking, `t.toArray()`
 * blocks until the work queued before it is done. `dispose()` (or `using`) releases memory at
 * once (it is freed after the work already queued on it); a tensor never disposed is freed when
 * the garbage collector finalises its handle, which V8 does under the memory pressure the
 * tensor's bytes add (CPU and GPU bytes are both reported to it).
 */
import type { NativeDevice, NativeDType, NativeTensor, NativeTypedArray } from '../binding';
import { binding } from './binding';
import { SenetError } from './errors';
import { timed } from './profile';
import { checkNumber, checkOneOf, checkShape, describe, fail, shapeString } from './validate';

/** Element type of a tensor. A 'bfloat16' tensor's elements read and write as a Uint16Array of their bits (ops.cast converts). */
export type DType = NativeDType;
/** Where a tensor lives. */
export type Device = NativeDevice;
/** Any typed array a tensor can be made from or copied into. */
export type TypedArray = NativeTypedArray;

/** The typed array that holds elements of a dtype. */
export type TypedArrayOf<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'bfloat16'
    ? Uint16Array
  : D extends 'int64'
    ? BigInt64Array
    : D extends 'int32'
      ? Int32Array
      : Uint8Array;

/** The dtype a typed array holds. */
export type DTypeOf<A extends TypedArray> = A extends Float32Array
  ? 'float32'
  : A extends Uint16Array
    ? 'bfloat16'
  : A extends BigInt64Array
    ? 'int64'
    : A extends Int32Array
      ? 'int32'
      : 'uint8';

const DTYPES: readonly DType[] = ['float32', 'bfloat16', 'int64', 'int32', 'uint8'];
const DEVICES: readonly Device[] = ['cpu', 'cuda'];

/** Options for creating a tensor. */
export interface TensorOptions {
  /** Default 'cpu'. */
  device?: Device;
}

/** Options for creating a tensor of a chosen dtype. */
export interface CreateOptions<D extends DType = DType> extends TensorOptions {
  /** Default 'float32'. */
  dtype?: D;
}

/** A shaped, typed handle on native memory. */
export class Tensor<D extends DType = DType> {
  /** The native handle (for senet's own modules). */
  readonly native: NativeTensor;
  /** Dimensions, e.g. [N, H, W, C]. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: D;
  /** Where the memory lives. */
  readonly device: Device;

  /** Wraps a native handle; use `tensor()`, `zeros()` … to make tensors. */
  constructor(native: NativeTensor) {
    this.native = native;
    this.shape = Object.freeze(native.shape);
    this.dtype = native.dtype as D;
    this.device = native.device;
  }

  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** True after dispose() (or after the tensor a view looks into was disposed). */
  get disposed(): boolean {
    return this.native.disposed;
  }

  /** True for a view into another tensor's memory. */
  get isView(): boolean {
    return this.native.isView;
  }

  /** Bytes of the elements (0 once disposed). */
  get bytes(): number {
    return this.native.bytes;
  }

  /** Releases the memory now; for a view, drops only the view. Disposing twice is harmless. */
  dispose(): void {
    this.native.dispose();
  }

  /** `using t = …` disposes the tensor at the end of the block. */
  [Symbol.dispose](): void {
    this.native.dispose();
  }

  /**
   * A copy of the contents, once the work queued before this call has run, without blocking the
   * JavaScript thread. Rejects with the error of a queued op that failed (e.g. SENET_CUDA_OOM).
   */
  data(): Promise<TypedArrayOf<D>> {
    return this.native.data() as Promise<TypedArrayOf<D>>;
  }

  /**
   * A copy of the contents, in a new typed array. BLOCKS the JavaScript thread until the work
   * queued before it has run (prefer `await data()` in a server or a long loop).
   */
  toArray(): TypedArrayOf<D> {
    return this.native.toTypedArray() as TypedArrayOf<D>;
  }

  /** The same as toArray(): a blocking read, tfjs's name for it. */
  dataSync(): TypedArrayOf<D> {
    return this.toArray();
  }

  /** Overwrites the contents (in queue order: ops queued before still see the old values) from a typed array of the same dtype and element count. */
  set(data: TypedArrayOf<D>): void {
    if (!ArrayBuffer.isView(data)) fail('SENET_ARGUMENT', 'Tensor.set', 'data', 'a typed array', describe(data));
    this.native.set(data as TypedArray);
  }

  /** A view of `shape`'s elements starting at element `offset`, sharing this tensor's memory. */
  view(offset: number, shape: readonly number[]): Tensor<D> {
    const s = checkShape('Tensor.view', 'shape', shape);
    return new Tensor<D>(this.native.view(offset, s));
  }

  /** The same memory under another shape of the same element count (a view). */
  reshape(shape: readonly number[]): Tensor<D> {
    const s = checkShape('Tensor.reshape', 'shape', shape);
    const n = s.reduce((a, b) => a * b, 1);
    if (n !== this.size) {
      fail('SENET_SHAPE', 'Tensor.reshape', 'shape', `${this.size} elements like ${shapeString(this.shape)}`, `${shapeString(s)} (${n} elements)`);
    }
    return this.view(0, s);
  }

  /** A description such as `Tensor(float32, [2, 3], cpu)`. */
  toString(): string {
    return `Tensor(${this.dtype}, ${shapeString(this.shape)}, ${this.device}${this.disposed ? ', disposed' : ''})`;
  }
}

/** Checks that a value is a usable Tensor; returns it. */
export function checkTensor(where: string, what: string, value: unknown): Tensor {
  if (!(value instanceof Tensor)) fail('SENET_ARGUMENT', where, what, 'a Tensor', describe(value));
  if (value.disposed) throw new SenetError('SENET_DISPOSED', `${where}: ${what}: the tensor has been disposed`);
  return value;
}

function deviceOf(where: string, options: TensorOptions | undefined): Device {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    fail('SENET_ARGUMENT', where, 'options', 'an object', describe(options));
  }
  return options?.device === undefined ? 'cpu' : checkOneOf(where, 'device', options.device, DEVICES);
}

function typedArrayDType(value: unknown): DType | undefined {
  if (value instanceof Float32Array) return 'float32';
  if (value instanceof BigInt64Array) return 'int64';
  if (value instanceof Uint16Array) return 'bfloat16';
  if (value instanceof Int32Array) return 'int32';
  if (value instanceof Uint8Array) return 'uint8';
  return undefined;
}

/** A tensor holding a copy of `data`; the shape defaults to [data.length]. */
export function tensor<A extends TypedArray>(data: A, shape?: readonly number[], options?: TensorOptions): Tensor<DTypeOf<A>> {
  if (typedArrayDType(data) === undefined) {
    fail('SENET_ARGUMENT', 'tensor', 'data', 'a Float32Array, BigInt64Array, Int32Array or Uint8Array', describe(data));
  }
  const s = shape === undefined ? [data.length] : checkShape('tensor', 'shape', shape);
  const n = s.reduce((a, b) => a * b, 1);
  if (n !== data.length) fail('SENET_SHAPE', 'tensor', 'shape', `${data.length} elements to match data`, `${shapeString(s)} (${n} elements)`);
  return new Tensor(binding.fromTypedArray(data, s, deviceOf('tensor', options)));
}

/** An uninitialised tensor. */
export function empty<D extends DType = 'float32'>(shape: readonly number[], options?: CreateOptions<D>): Tensor<D> {
  const s = checkShape('empty', 'shape', shape);
  const dtype = options?.dtype === undefined ? 'float32' : checkOneOf('empty', 'dtype', options.dtype, DTYPES);
  return new Tensor<D>(binding.empty(s, dtype, deviceOf('empty', options)));
}

/** A tensor filled with `value`. */
export function full<D extends DType = 'float32'>(shape: readonly number[], value: number, options?: CreateOptions<D>): Tensor<D> {
  checkNumber('full', 'value', value);
  const t = empty<D>(shape, options);
  binding.fill({ tensor: t.native, params: { value } });
  return t;
}

/** A tensor of zeros. */
export function zeros<D extends DType = 'float32'>(shape: readonly number[], options?: CreateOptions<D>): Tensor<D> {
  return full<D>(shape, 0, options);
}

/** A tensor of ones. */
export function ones<D extends DType = 'float32'>(shape: readonly number[], options?: CreateOptions<D>): Tensor<D> {
  return full<D>(shape, 1, options);
}

/** Options for seeded random fills. Element i depends only on (seed, i): the same on every backend. */
export interface RandomOptions extends TensorOptions {
  /** Integer seed, default 0. */
  seed?: number | bigint;
}

function seedOf(where: string, seed: unknown): number | bigint {
  if (seed === undefined) return 0;
  if (typeof seed === 'bigint') {
    if (seed < 0n || seed >= 1n << 64n) fail('SENET_ARGUMENT', where, 'seed', 'a bigint in [0, 2^64)', describe(seed));
    return seed;
  }
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    fail('SENET_ARGUMENT', where, 'seed', 'an integer in [0, 2^53) or a bigint', describe(seed));
  }
  return seed;
}

/** Fills a float32 tensor in place with normal samples. */
export function fillNormal(t: Tensor, mean = 0, std = 1, options?: { seed?: number | bigint }): Tensor {
  checkTensor('fillNormal', 'tensor', t);
  checkNumber('fillNormal', 'mean', mean);
  checkNumber('fillNormal', 'std', std, 0);
  binding.fillNormal({ tensor: t.native, params: { mean, std, seed: seedOf('fillNormal', options?.seed) } });
  return t;
}

/** Fills a float32 tensor in place with uniform samples in [low, high). */
export function fillUniform(t: Tensor, low = 0, high = 1, options?: { seed?: number | bigint }): Tensor {
  checkTensor('fillUniform', 'tensor', t);
  checkNumber('fillUniform', 'low', low);
  checkNumber('fillUniform', 'high', high, low);
  binding.fillUniform({ tensor: t.native, params: { low, high, seed: seedOf('fillUniform', options?.seed) } });
  return t;
}

/** Fills a tensor in place with one value. */
export function fill(t: Tensor, value: number): Tensor {
  checkTensor('fill', 'tensor', t);
  checkNumber('fill', 'value', value);
  binding.fill({ tensor: t.native, params: { value } });
  return t;
}

/** A float32 tensor of normal samples (mean 0, std 1 unless given). */
export function randn(shape: readonly number[], options?: RandomOptions & { mean?: number; std?: number }): Tensor<'float32'> {
  const t = empty<'float32'>(shape, { device: options?.device });
  try {
    fillNormal(t, options?.mean ?? 0, options?.std ?? 1, options);
  } catch (err) {
    t.dispose();
    throw err;
  }
  return t;
}

/** A float32 tensor of uniform samples in [low, high) (default [0, 1)). */
export function rand(shape: readonly number[], options?: RandomOptions & { low?: number; high?: number }): Tensor<'float32'> {
  const t = empty<'float32'>(shape, { device: options?.device });
  try {
    fillUniform(t, options?.low ?? 0, options?.high ?? 1, options);
  } catch (err) {
    t.dispose();
    throw err;
  }
  return t;
}

/**
 * Copies src's elements into dst (same dtype and element count; devices may differ), in queue
 * order. With `onlyIf` (an int32 scalar on dst's device) the copy happens only when it is not 0
 * when the copy runs.
 */
export function copy<T extends Tensor>(src: Tensor, dst: T, options?: { onlyIf?: Tensor }): T {
  checkTensor('copy', 'src', src);
  checkTensor('copy', 'dst', dst);
  const onlyIf = options?.onlyIf;
  if (onlyIf !== undefined) checkTensor('copy', 'onlyIf', onlyIf);
  timed('other', 'copy', () => binding.copy({ src: src.native, dst: dst.native, onlyIf: onlyIf ? onlyIf.native : null }));
  return dst;
}
