/**
 * Native memory as users and V8 see it: `memory()` reports live tensors and bytes per device
 * (like tfjs's `tf.memory()`), and the addon is given a way to run a full garbage collection so
 * that a GPU allocation that fails first lets forgotten tensors go (their finalisers free them),
 * then trims CUDA's pool, and only then reports SENET_CUDA_OOM.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { binding } from './binding';

/** What `memory()` returns. */
export interface MemoryInfo {
  /** Live native allocations (a tensor and its views count once). */
  numTensors: number;
  /** Bytes they hold, all devices. */
  numBytes: number;
  /** Host bytes held by CPU tensors. */
  cpuBytes: number;
  /** GPU bytes held by CUDA tensors. */
  cudaBytes: number;
  /** What CUDA's memory pool holds from the driver (in use or cached for reuse); 0 without a GPU. */
  cudaPoolBytes: number;
  /** Reads (`data()`) of this thread not settled yet. */
  pendingReads: number;
}

/** Live tensors and their bytes per device. */
export function memory(): MemoryInfo {
  const m = binding.memory();
  return {
    numTensors: m.allocations,
    numBytes: m.cpuBytes + m.cudaBytes,
    cpuBytes: m.cpuBytes,
    cudaBytes: m.cudaBytes,
    cudaPoolBytes: m.cudaPoolBytes,
    pendingReads: m.pendingReads,
  };
}

let gc: (() => void) | undefined;

// V8's collector, reached without the --expose-gc flag (only when a GPU allocation has failed).
function collectGarbage(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
}

binding.setGarbageCollector(collectGarbage);
