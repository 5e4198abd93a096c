/**
 * A tiny profiler: while it is on, every op in lib/ops.ts (and the trainer's data wait and
 * upload) adds its wall time to its op family and to its own name. While it is off an op pays
 * one boolean check. Ops are queued and run on the device's executor, so while the profiler is
 * on it waits for the device before and after each op, so that each op's time is its own (the
 * call, the queue and the arithmetic) — which slows the step down, so measure throughput with
 * the profiler off.
 */
import { performance } from 'node:perf_hooks';
import { binding } from './binding';
import type { Device } from './tensor';

/**
 * Where a training step's time goes: conv (conv + batch norm + ReLU, forward and backward), se
 * (the fused SE block with the residual add and ReLU), pool (max and global average), linear,
 * loss, sgd, data (waiting for a batch and uploading it), other (add, copies, checks).
 */
export type OpFamily = 'conv' | 'se' | 'pool' | 'linear' | 'loss' | 'sgd' | 'data' | 'other';

/** Every family, in the order reports list them. */
export const OP_FAMILIES: readonly OpFamily[] = ['conv', 'se', 'pool', 'linear', 'loss', 'sgd', 'data', 'other'];

/** Time and calls of one op (or family) while the profiler was on. */
export interface ProfileEntry {
  ms: number;
  calls: number;
}

/** What the profiler recorded since it was started or reset. */
export interface ProfileReport {
  /** Milliseconds per family (every family present, 0 when not called). */
  families: Record<OpFamily, number>;
  /** Per op name (e.g. convBnForward), its family, milliseconds and calls. */
  ops: Record<string, ProfileEntry & { family: OpFamily }>;
  /** Sum over the families. */
  totalMs: number;
  /** The device each op was timed on, with a synchronisation around it. */
  device: Device;
}

let on = false;
let device: Device = 'cpu';
const familyMs = new Map<OpFamily, number>();
const opStats = new Map<string, ProfileEntry & { family: OpFamily }>();

function add(family: OpFamily, op: string, ms: number): void {
  familyMs.set(family, (familyMs.get(family) ?? 0) + ms);
  const e = opStats.get(op);
  if (e) {
    e.ms += ms;
    e.calls += 1;
  } else {
    opStats.set(op, { family, ms, calls: 1 });
  }
}

function record<R>(family: OpFamily, op: string, fn: () => R): R {
  binding.synchronize(device);
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    binding.synchronize(device);
    add(family, op, performance.now() - t0);
  }
}

/** Runs `fn`; while the profiler is on, its wall time counts for `family` and `op`. */
export function timed<R>(family: OpFamily, op: string, fn: () => R): R {
  if (!on) return fn();
  return record(family, op, fn);
}

/** Adds time measured elsewhere (e.g. waiting for a batch) while the profiler is on. */
export function addTime(family: OpFamily, op: string, ms: number): void {
  if (on) add(family, op, ms);
}

/** True while the profiler records. */
export function profiling(): boolean {
  return on;
}

/** Starts recording (and clears what was recorded), timing each op on `device` (default 'cpu'). */
export function startProfiling(options?: { device?: Device }): void {
  resetProfile();
  device = options?.device ?? 'cpu';
  on = true;
}

/** Stops recording and returns the report. */
export function stopProfiling(): ProfileReport {
  const r = profileReport();
  on = false;
  return r;
}

/** Clears what was recorded (the profiler stays on or off). */
export function resetProfile(): void {
  familyMs.clear();
  opStats.clear();
}

/** What was recorded so far. */
export function profileReport(): ProfileReport {
  const families = Object.fromEntries(OP_FAMILIES.map((f) => [f, familyMs.get(f) ?? 0])) as Record<OpFamily, number>;
  const ops: ProfileReport['ops'] = {};
  for (const [name, e] of [...opStats].sort((a, b) => b[1].ms - a[1].ms)) ops[name] = { ...e };
  return { families, ops, totalMs: OP_FAMILIES.reduce((s, f) => s + families[f], 0), device };
}
