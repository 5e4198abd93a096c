/**
 * The native addon's interface, as `native/addon` exports it. Use the typed API in `lib/`
 * (`senet`'s exports) rather than this directly.
 *
 * Every op takes one object of named arguments: tensors by name and a `params` object. The
 * native side checks them all (it is the one owner of every rule) and throws an `Error` with a
 * `code` naming the argument, then queues the op on the device's executor and returns at once.
 * Outputs: a tensor given is written into, `null` means "not wanted", and an output left
 * undefined is allocated when the op makes it by default; the returned object lists every output.
 *
 * Layouts: activations (N, H, W, C); conv weights (Cout, kH, kW, Cin / groups); linear weights
 * (Out, In).
 */

/** Element types a tensor can hold. */
export type NativeDType = 'float32' | 'bfloat16' | 'int64' | 'int32' | 'uint8';
/** Where a tensor's memory lives. */
export type NativeDevice = 'cpu' | 'cuda';
/** The typed arrays that carry tensor data across the boundary. */
export type NativeTypedArray = Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;

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
  /** Bytes of the elements (0 once disposed). */
  readonly bytes: number;
  /** Releases the memory now (freed after the work already queued on it); a view drops only itself. */
  dispose(): void;
  /** A copy of the contents, after the work queued before it: BLOCKS the calling thread until then. */
  toTypedArray(): NativeTypedArray;
  /** A copy of the contents, after the work queued before it, without blocking. */
  data(): Promise<NativeTypedArray>;
  /** Overwrites the contents (in queue order) from a typed array of the same dtype and element count. */
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
  /** Allow TF32 tensor-core math on the GPU (precision 'tf32'); absent: false. */
  tf32?: boolean;
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
  /** oneDNN has native bf16 kernels for this CPU (avx512_core_bf16 or AMX). */
  cpuBf16: boolean;
  /** Why not, when cpuBf16 is false. */
  cpuBf16Reason: string;
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
  convolutionAlgorithms: { measured: boolean; deterministic: boolean };
}

/** The cuDNN algorithms chosen for one convolution shape ('' for a direction not run yet). */
export interface NativeConvAlgorithms {
  shape: string;
  forward: string;
  backwardData: string;
  backwardFilter: string;
  workspace: number;
  forwardMs: number;
  backwardDataMs: number;
  backwardFilterMs: number;
  forwardCalls: number;
  backwardDataCalls: number;
  backwardFilterCalls: number;
}

/** Native memory in use. */
export interface NativeMemory {
  /** Live allocations (tensors; views share their base's). */
  allocations: number;
  cpuBytes: number;
  cudaBytes: number;
  /** What CUDA's memory pool holds from the driver (in use or cached). */
  cudaPoolBytes: number;
  /** Reads (data()) not yet settled in this thread. */
  pendingReads: number;
}

type T = NativeTensor;
/** An output: a tensor to write, null for "not wanted", undefined to have it allocated. */
type Out = NativeTensor | null | undefined;

/** The addon module. */
export interface NativeBinding {
  Tensor: typeof NativeTensor;
  empty(shape: number[], dtype: NativeDType, device: NativeDevice): T;
  fromTypedArray(data: NativeTypedArray, shape: number[], device: NativeDevice): T;
  buildInfo(): NativeBuildInfo;
  cudaProbe(): NativeCudaProbe;
  cudaConvAlgorithms(): NativeConvAlgorithms[];
  selectCudaDevice(index: number): void;
  /** Blocks until the work queued on the device has finished; throws an error pending there. */
  synchronize(device: NativeDevice): void;
  memory(): NativeMemory;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  resetNumThreads(): void;
  threadsReport(): { requested: number; active: number; adaptive: boolean; quotaCores: number };
  /** The function that runs a full garbage collection before a failed GPU allocation is retried. */
  setGarbageCollector(gc: () => void): void;

  fill(a: { tensor: T; params: { value: number } }): object;
  fillNormal(a: { tensor: T; params: { mean: number; std: number; seed: number | bigint } }): object;
  fillUniform(a: { tensor: T; params: { low: number; high: number; seed: number | bigint } }): object;
  copy(a: { src: T; dst: T; onlyIf?: T | null }): object;
  add(a: { a: T; b: T; out?: Out }): { out: T };
  /** y = x converted between float32 and bfloat16 (default: to the other of the two). */
  cast(a: { x: T; y?: Out; params?: { dtype?: 'float32' | 'bfloat16' } }): { y: T };
  normalizeBytes(a: { x: T; table: T; y?: Out; params?: { dtype?: 'float32' | 'bfloat16' } }): { y: T };
  countNonFinite(a: { tensors: T[]; count?: Out; params?: { accumulate?: boolean } }): { count: T };
  toChannelsLast(a: { x: T; y?: Out }): { y: T };

  convBnForward(a: {
    x: T; w: T; gamma: T; beta: T; runningMean: T; runningVar: T;
    y?: Out; z?: Out; saveMean?: Out; saveVar?: Out; params: NativeConvBnParams;
  }): { y: T; z: T | null; saveMean: T | null; saveVar: T | null };
  /** convBnForward's output shape for these inputs, checked as the op checks them. */
  convBnOutputShape(a: { x: T; w: T; gamma: T; beta: T; runningMean: T; runningVar: T; params: NativeConvBnParams }): number[];
  /** maxPoolForward's output shape. */
  maxPoolOutputShape(a: { x: T; params: NativeMaxPoolParams }): number[];
  convBnBackward(a: {
    dy: T; x: T; w: T; gamma: T; z: T; y: T; saveMean: T; saveVar: T;
    dx?: Out; dw?: Out; dgamma?: Out; dbeta?: Out; params: NativeConvBnParams;
  }): { dx: T | null; dw: T; dgamma: T; dbeta: T };
  seForward(a: {
    u: T; w1: T; b1: T; w2: T; b2: T; shortcut?: T | null;
    y?: Out; pooled?: Out; hidden?: Out; gate?: Out;
  }): { y: T; pooled: T; hidden: T; gate: T };
  seBackward(a: {
    dy: T; u: T; y?: T | null; w1: T; w2: T; pooled: T; hidden: T; gate: T;
    du?: Out; dshortcut?: Out; dw1?: Out; db1?: Out; dw2?: Out; db2?: Out; params: { residual: boolean };
  }): { du: T; dshortcut: T | null; dw1: T; db1: T; dw2: T; db2: T };
  maxPoolForward(a: { x: T; y?: Out; params: NativeMaxPoolParams }): { y: T };
  maxPoolBackward(a: { dy: T; x: T; y: T; dx?: Out; params: NativeMaxPoolParams }): { dx: T };
  globalAvgPoolForward(a: { x: T; y?: Out }): { y: T };
  globalAvgPoolBackward(a: { dy: T; dx?: Out; params?: { height: number; width: number; dtype?: 'float32' | 'bfloat16' } }): { dx: T };
  linearForward(a: { x: T; w: T; b?: T | null; y?: Out; params?: { tf32?: boolean } }): { y: T };
  linearBackward(a: { dy: T; x: T; w: T; dx?: Out; dw?: Out; db?: Out; params: { bias: boolean; tf32?: boolean } }): {
    dx: T | null; dw: T; db: T | null;
  };
  crossEntropyForward(a: { logits: T; labels: T; loss?: Out; correct?: Out; params: NativeCrossEntropyParams }): {
    loss: T; correct: T | null;
  };
  crossEntropyBackward(a: { logits: T; labels: T; dlogits?: Out; params: NativeCrossEntropyParams }): { dlogits: T };
  /** Checks SGD's hyper-parameters alone (as sgdStep would). */
  sgdCheckParams(a: { params: NativeSgdParams }): object;
  softmax(a: { logits: T; probabilities?: Out }): { probabilities: T };
  sgdStep(a: { param: T; grad: T; momentumBuffer?: T | null; skip?: T | null; paramCopy?: T | null; params: NativeSgdParams }): object;
}
