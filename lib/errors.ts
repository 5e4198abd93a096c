/**
 * Every error senet throws is an `Error` with a stable `code`, whether TypeScript validation or
 * the native addon found the problem.
 */

/** The codes senet's errors carry. */
export type SenetErrorCode =
  | 'SENET_ARGUMENT'
  | 'SENET_SHAPE'
  | 'SENET_DTYPE'
  | 'SENET_DISPOSED'
  | 'SENET_DEVICE'
  | 'SENET_OOM'
  | 'SENET_CUDA_OOM'
  | 'SENET_NO_CUDA'
  | 'SENET_NO_CUDNN'
  | 'SENET_NO_CUBLAS'
  | 'SENET_LIBRARY'
  | 'SENET_UNSUPPORTED'
  | 'SENET_NATIVE_LOAD'
  | 'SENET_FORMAT'
  | 'SENET_IO'
  | 'SENET_NAN'
  | 'SENET_STATE_DICT'
  | 'SENET_NO_SHARP'
  | 'SENET_INTERNAL';

/** An error raised by senet's TypeScript layer; native errors are plain `Error`s with the same codes. */
export class SenetError extends Error {
  /** The stable code, e.g. `SENET_SHAPE`. */
  readonly code: SenetErrorCode;

  constructor(code: SenetErrorCode, message: string) {
    super(message);
    this.name = 'SenetError';
    this.code = code;
  }
}
