/**
 * The native addon's interface, as `native/addon` exports it. Use the typed, validated API in
 * `lib/` (`senet`'s exports) rather than this directly: these functions check their arguments
 * again and throw an `Error` with a `code`, but their messages speak of positional arguments.
 *
 * Layouts: activations (N, H, W, C); conv weights (Cout, kH, kW, Cin / groups); linear weights
 * (Out, In). Outputs are passed in and overwritten; nothing here allocates a tensor but `empty`,
 * `fromTypedArray` and `NativeTensor.view`.
 */

/** Element types a tensor can hold. */
export type NativeDType = 'float32' | 'int64' | 'int32' | 'uint8';
/** Where a tensor's memory lives. */
export type NativeDevice = 'cpu' | 'cuda';
/** The typed arrays that carry tensor data across the boundary. */
export type NativeTypedArray = Float32Array | BigInt64Array | Int32Array | Uint8Array;

/** A handle on native memory. */
export declare class NativeTensor {
  private constructor();
  /** Dimensions, e.g. [N, H, W, C]. */
  readonly shape: number[];
  readonly dtype: NativeDType;
  readonly device: NativeDevice;
  /** True for a view into another tensor's memory (an arena entry). */
  readonly isView: boolean;
  /** True after dispose(), or after the tensor a view looks into was disposed. */
  readonly disposed: boolean;
  /** Frees the memory now (for a view: drops the view only). Calling it twice is harmless. */
  dispose(): void;
  /** A copy of the contents in a new typed array of the tensor's dtype. */
  toTypedArray(): NativeTypedArray;
  /** Overwrites the contents from a typed array of the same dtype and element count. */
  set(data: NativeTypedArray): void;
  /** A view of `shape`'s element count starting at element `offset`, sharing memory. */
  view(offset: number, shape: number[]): NativeTensor;
}

/** A sliding window: kernel, stride and zero padding, each as height and width. */
export interface NativeWindow {
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
}

/** Parameters of convBnForward / convBnBackward. */
export interface NativeConvBnParams extends NativeWindow {
  groups: number;
  relu: boolean;
  training: boolean;
  eps: number;
  momentum: number;
}

/** Parameters of maxPoolForward / maxPoolBackward. */
export type NativeMaxPoolParams = NativeWindow;

/** Parameters of the cross-entropy ops. */
export interface NativeCrossEntropyParams {
  labelSmoothing: number;
}

/** Parameters of one SGD step (torch.optim.SGD semantics). */
export interface NativeSgdParams {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** The first step sets the momentum buffer to the gradient. */
  firstStep: boolean;
}

/** What the addon was built with and runs on. */
export interface NativeBuildInfo {
  onednn: string;
  onednnCpuRuntime: string;
  cpuIsa: string;
  cudaBuilt: boolean;
  napiVersion: number;
}

/** A library loaded at run time. */
export interface NativeLibraryInfo {
  loaded: boolean;
  path: string;
  version: string;
  reason: string;
  tried: string[];
}

/** The CUDA backend's state, reported without throwing. */
export interface NativeCudaProbe {
  built: boolean;
  available: boolean;
  reason: string;
  driverVersion: number;
  runtimeVersion: number;
  selectedDevice: number;
  devices: { index: number; name: string; computeCapability: string; totalMemory: number }[];
  cudnn: NativeLibraryInfo;
  cublas: NativeLibraryInfo;
}

type T = NativeTensor;
type Opt = NativeTensor | null;

/** The addon module. */
export interface NativeBinding {
  Tensor: typeof NativeTensor;
  empty(shape: number[], dtype: NativeDType, device: NativeDevice): T;
  fromTypedArray(data: NativeTypedArray, shape: number[], device: NativeDevice): T;
  buildInfo(): NativeBuildInfo;
  cudaProbe(): NativeCudaProbe;
  selectCudaDevice(index: number): void;
  cudaSynchronize(): void;

  fill(t: T, value: number): void;
  fillNormal(t: T, mean: number, std: number, seed: number | bigint): void;
  fillUniform(t: T, low: number, high: number, seed: number | bigint): void;
  copy(src: T, dst: T): void;
  add(a: T, b: T, out: T): void;
  countNonFinite(t: T): number;

  convBnForward(x: T, w: T, gamma: T, beta: T, runningMean: T, runningVar: T, y: T, z: Opt,
    saveMean: Opt, saveVar: Opt, params: NativeConvBnParams): void;
  convBnBackward(dy: T, x: T, w: T, gamma: T, z: T, y: T, saveMean: T, saveVar: T, dx: Opt, dw: T,
    dgamma: T, dbeta: T, params: NativeConvBnParams): void;
  seForward(u: T, w1: T, b1: T, w2: T, b2: T, shortcut: Opt, y: T, pooled: T, hidden: T, gate: T): void;
  seBackward(dy: T, u: T, y: Opt, w1: T, w2: T, pooled: T, hidden: T, gate: T, du: T, dshortcut: Opt,
    dw1: T, db1: T, dw2: T, db2: T): void;
  maxPoolForward(x: T, y: T, params: NativeMaxPoolParams): void;
  maxPoolBackward(dy: T, x: T, y: T, dx: T, params: NativeMaxPoolParams): void;
  globalAvgPoolForward(x: T, y: T): void;
  globalAvgPoolBackward(dy: T, dx: T): void;
  linearForward(x: T, w: T, b: Opt, y: T): void;
  linearBackward(dy: T, x: T, w: T, dx: Opt, dw: T, db: Opt): void;
  crossEntropyForward(logits: T, labels: T, loss: T, correct: Opt, params: NativeCrossEntropyParams): void;
  crossEntropyBackward(logits: T, labels: T, dlogits: T, params: NativeCrossEntropyParams): void;
  sgdStep(param: T, grad: T, momentumBuffer: Opt, params: NativeSgdParams): void;
}
