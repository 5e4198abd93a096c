/**
 * Which backends this process can use, and why one cannot: the CPU (oneDNN) always; CUDA when
 * the addon was built with it and the driver, a GPU, cuDNN 9 and cuBLAS are all present.
 */
import { binding } from './binding';
import type { Device } from './tensor';
import { checkInt, checkOneOf } from './validate';

/** A shared library senet loads at run time (cuDNN or cuBLAS). */
export interface LibraryReport {
  /** True when found and usable. */
  loaded: boolean;
  /** The file loaded. */
  path: string;
  /** Its version, e.g. "9.10.2". */
  version: string;
  /** Why it is not usable (empty when loaded). */
  reason: string;
  /** Every name tried, with what the loader said. */
  tried: string[];
}

/** One GPU. */
export interface CudaDeviceReport {
  index: number;
  name: string;
  /** e.g. "9.0" */
  computeCapability: string;
  /** Bytes. */
  totalMemory: number;
}

/** The CUDA backend's state. */
export interface CudaReport {
  /** The addon was compiled with CUDA. */
  built: boolean;
  /** Everything needed is present: `device: 'auto'` then picks CUDA. */
  available: boolean;
  /** The first thing missing, when not available. */
  reason: string;
  /** CUDA version the driver supports, e.g. 13000 (0: no driver). */
  driverVersion: number;
  /** CUDA runtime version senet was built with. */
  runtimeVersion: number;
  /** The device CUDA tensors go to. */
  selectedDevice: number;
  devices: CudaDeviceReport[];
  cudnn: LibraryReport;
  cublas: LibraryReport;
  /**
   * How cuDNN's convolution algorithms are chosen, once per shape: `measured` (the default) times
   * the candidates with cudnnFind*AlgorithmEx, as `torch.backends.cudnn.benchmark` does;
   * $SENET_CUDNN_BENCHMARK=0 takes cuDNN's heuristic order instead. `deterministic`
   * ($SENET_DETERMINISTIC=1) keeps only algorithms without atomics, so a run repeats bit for bit.
   * Both are read once, when senet loads.
   */
  convolutionAlgorithms: { measured: boolean; deterministic: boolean };
}

/** The cuDNN algorithms chosen for one convolution shape (`cudaConvolutionAlgorithms()`). */
export interface ConvolutionAlgorithms {
  /** e.g. "8x56x56x128 -> 128, 3x3 stride 1, 32 groups, bfloat16". */
  shape: string;
  /**
   * cuDNN's algorithm names (e.g. IMPLICIT_PRECOMP_GEMM); '' for a direction not run yet;
   * 'SGEMM (cuBLAS)' for the forward and the input gradient of a float32 1x1 stride-1
   * convolution, which senet computes as matrix products.
   */
  forward: string;
  backwardData: string;
  backwardFilter: string;
  /** The most workspace, in bytes, any of the three asked for. */
  workspace: number;
  /** cuDNN's measured time of each direction's chosen algorithm, ms (0 where not measured). */
  forwardMs: number;
  backwardDataMs: number;
  backwardFilterMs: number;
  /** Calls of each direction since the process started (cuDNN's or the cuBLAS product's). */
  forwardCalls: number;
  backwardDataCalls: number;
  backwardFilterCalls: number;
}

/** The CPU backend's state. */
export interface CpuReport {
  available: true;
  /** oneDNN version. */
  onednn: string;
  /** Instruction set oneDNN dispatches to, e.g. avx512_core. */
  isa: string;
  /** Threading runtime. */
  runtime: string;
  /** Threads it computes with (setNumThreads). */
  threads: number;
  /**
   * Threads in its team right now: fewer than `threads` while other processes keep cores busy,
   * so that no step waits on a thread the scheduler has parked (this process's own threads do
   * not count: the data loader's workers are meant to overlap with it). Measured every 200 ms
   * of work. Only the default team adapts: setNumThreads, $OMP_NUM_THREADS or
   * $SENET_ADAPTIVE_THREADS=0 keep it at `threads` (`adaptiveThreads` false), as bit-identical
   * runs need.
   */
  activeThreads: number;
  /** Whether the team follows the machine's load (see `activeThreads`). */
  adaptiveThreads: boolean;
  /**
   * The CPU time this process's cgroup allows (a container's `--cpus`, a Kubernetes CPU limit), in
   * whole cores, or null without a limit; the default `threads` is at most this.
   */
  cpuQuota: number | null;
  /**
   * Whether precision 'bf16' runs here: oneDNN has native bf16 kernels for this CPU
   * (avx512_core_bf16 or AMX) and `reason` is empty, or it has none and `reason` says what is
   * missing (bf16 is then refused with SENET_UNSUPPORTED rather than emulated slowly).
   */
  bf16: { supported: boolean; reason: string };
  /** OpenMP's wait policy: $OMP_WAIT_POLICY as set when senet loaded, or 'default' (spin a while, then sleep). */
  waitPolicy: string;
}

/** What `backends()` returns. */
export interface BackendsReport {
  cpu: CpuReport;
  cuda: CudaReport;
}

/** Reports the backends without throwing. */
export function backends(): BackendsReport {
  const b = binding.buildInfo();
  const t = binding.threadsReport();
  return {
    cpu: { available: true, onednn: b.onednn, isa: b.cpuIsa, runtime: b.onednnCpuRuntime, threads: t.requested, activeThreads: t.active, adaptiveThreads: t.adaptive, cpuQuota: t.quotaCores > 0 ? t.quotaCores : null, bf16: { supported: b.cpuBf16, reason: b.cpuBf16Reason }, waitPolicy: (process.env['OMP_WAIT_POLICY'] ?? 'default').toLowerCase() },
    cuda: binding.cudaProbe(),
  };
}

/**
 * The cuDNN algorithms the CUDA backend has chosen so far, one entry per convolution shape it has
 * run, sorted by shape (empty without CUDA). `senet bench --breakdown` prints them.
 */
export function cudaConvolutionAlgorithms(): ConvolutionAlgorithms[] {
  return binding.cudaConvAlgorithms();
}

/** What a user may ask for. */
export type DeviceRequest = Device | 'auto';

/** 'auto' is CUDA when it is fully available, otherwise the CPU; 'cpu' and 'cuda' are taken as asked. */
export function resolveDevice(request: DeviceRequest = 'auto'): Device {
  const r = checkOneOf('resolveDevice', 'device', request, ['auto', 'cpu', 'cuda'] as const);
  if (r !== 'auto') return r;
  return binding.cudaProbe().available ? 'cuda' : 'cpu';
}

/** Chooses the GPU for CUDA tensors (default: $SENET_CUDA_DEVICE or 0); only before the first one exists. */
export function selectCudaDevice(index: number): void {
  binding.selectCudaDevice(checkInt('selectCudaDevice', 'index', index, 0));
}

/**
 * BLOCKS until the work queued on `device` (default: both) has finished, and throws the error of
 * a queued op that failed. Reading a tensor (`await t.data()`) waits without blocking.
 */
export function synchronize(device?: Device): void {
  if (device !== undefined) checkOneOf('synchronize', 'device', device, ['cpu', 'cuda'] as const);
  if (device !== 'cuda') binding.synchronize('cpu');
  if (device !== 'cpu' && binding.buildInfo().cudaBuilt) binding.synchronize('cuda');
}

/**
 * The threads the CPU backend computes with (oneDNN and senet's loops). The default is
 * $OMP_NUM_THREADS, else every core this process may use, at most its cgroup's CPU quota
 * (`backends().cpu.cpuQuota`). Applies to ops queued after the call.
 * While other processes keep cores busy the default team computes with fewer, never more (see
 * `backends().cpu.activeThreads`); a size set here is kept.
 */
export function setNumThreads(n: number): void {
  binding.setNumThreads(checkInt('setNumThreads', 'n', n, 1, 4096));
}

/**
 * Undoes setNumThreads: the CPU backend computes with its default team again (every usable core,
 * fewer while other processes keep cores busy; see `backends().cpu`). Applies to ops queued after
 * the call.
 */
export function resetNumThreads(): void {
  binding.resetNumThreads();
}

/** The threads the CPU backend computes with. */
export function getNumThreads(): number {
  return binding.getNumThreads();
}
