/**
 * PyTorch's side of the benchmark: finds a Python with torch ($SENET_PYTHON, then `python3` on the
 * PATH, then /usr/bin/python3), runs bench/pytorch/seresnext_bench.py with the same network,
 * batch, SGD and thread count, and reads the JSON object it prints last.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SEResNeXtConfig } from '../nn';
import type { OpFamily } from '../profile';

/** The script, in a checkout of the repository (it is not part of the npm package). */
export const PYTORCH_SCRIPT = path.join(__dirname, '..', '..', '..', 'bench', 'pytorch', 'seresnext_bench.py');

/** A Python that imports torch, or why none was found. */
export type TorchPython = { python: string; torch: string } | { python: null; reason: string };

/** The Pythons tried, in order. */
export function pythonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const list = [env['SENET_PYTHON'], 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  return [...new Set(list)];
}

/** The first candidate where `import torch` works, with torch's version. */
export function findTorchPython(env: NodeJS.ProcessEnv = process.env): TorchPython {
  const tried: string[] = [];
  for (const python of pythonCandidates(env)) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000, env });
    if (r.status === 0) return { python, torch: r.stdout.trim() };
    const why = r.error ? r.error.message : (r.stderr || '').trim().split('\n').pop() || `exit code ${r.status}`;
    tried.push(`${python}: ${why}`);
  }
  return { python: null, reason: `no Python with torch (${tried.join('; ')})` };
}

/**
 * PyTorch's precision: plain float32 (TF32 off on CUDA, as senet), TF32 allowed for CUDA
 * convolutions and matrix products (on the CPU the same as fp32), or bfloat16 mixed precision
 * (channels-last, forward and loss under `torch.autocast`, float32 weights and SGD, no loss scaling).
 */
export type PytorchPrecision = 'fp32' | 'tf32' | 'bf16';

/** What the PyTorch run is asked to do. */
export interface PytorchRunOptions {
  python: string;
  model: string;
  config: SEResNeXtConfig;
  batchSize: number;
  size: number;
  device: 'cpu' | 'cuda';
  steps: number;
  warmup: number;
  repeats: number;
  threads: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  breakdown: boolean;
  /** PyTorch's memory format(s): its default NCHW, channels-last, or both (reported separately). */
  memoryFormat: 'nchw' | 'channels_last' | 'both';
  /** PyTorch's precision (`--precision`); unset: the script's default, fp32. bf16 always runs channels-last, whatever memoryFormat says. */
  precision?: PytorchPrecision;
  /** Where the script's progress goes (its stderr); null: discarded. */
  log: NodeJS.WritableStream | null;
}

/** The script's breakdown: ms per family per step. */
export interface PytorchBreakdown {
  families: Record<OpFamily, number>;
  stepMs: number;
  unaccountedMs: number;
  method: string;
}

/** Dtypes seen in a run's first training step and inference: the first convolution's output, the logits, the loss. */
export interface PytorchObservedDtypes {
  conv?: string;
  logits?: string;
  loss?: string;
  inferLogits?: string;
}

/** One memory format's figures. */
export interface PytorchRun {
  memoryFormat: 'nchw' | 'channels_last';
  /** The precision PyTorch ran in (tf32 asked on the CPU runs as fp32). */
  precision: PytorchPrecision;
  /** Forward and loss under `torch.autocast` (bf16). */
  autocast: boolean;
  autocastDtype: 'bfloat16' | null;
  channelsLast: boolean;
  observedDtypes: PytorchObservedDtypes;
  trainImagesPerSecond: number;
  inferImagesPerSecond: number;
  trainStepMs: number[];
  inferStepMs: number[];
  peakRssBytes: number;
  /** Resident memory before the model was built (Python, torch): part of peakRssBytes. */
  baselineRssBytes: number | null;
  /** A second memory format measured in the same process: its peak RSS may be the first run's. */
  rssIncludesEarlierRuns?: boolean;
  peakGpuBytes: number | null;
  parameters: number;
  network: string;
  breakdown: PytorchBreakdown | null;
}

/** What the script prints: the first run's figures at the top level, and every run. */
export interface PytorchResult extends PytorchRun {
  versions: Record<string, string | number | boolean | null>;
  device: string;
  deviceName: string;
  threads: number;
  defaultThreads: number;
  tf32: boolean | null;
  /** The precision asked for (precision, in each run, is what ran). */
  precisionRequested: PytorchPrecision;
  /** Where the run differs from what was asked (tf32 on the CPU, bf16 forcing channels-last), or null. */
  precisionNote: string | null;
  runs: PytorchRun[];
}

/** The script's arguments. */
export function pytorchArgs(o: PytorchRunOptions): string[] {
  return [
    PYTORCH_SCRIPT,
    '--config', JSON.stringify(o.config),
    '--model', o.model,
    '--batch-size', String(o.batchSize),
    '--size', String(o.size),
    '--device', o.device,
    '--steps', String(o.steps),
    '--warmup', String(o.warmup),
    '--repeats', String(o.repeats),
    '--threads', String(o.threads),
    '--lr', String(o.lr),
    '--momentum', String(o.momentum),
    '--weight-decay', String(o.weightDecay),
    '--memory-format', o.memoryFormat,
    ...(o.precision !== undefined ? ['--precision', o.precision] : []),
    ...(o.breakdown ? ['--breakdown'] : []),
  ];
}

/** Runs the script and parses its last line. Rejects with the script's own last words on failure. */
export function runPytorch(o: PytorchRunOptions): Promise<PytorchResult> {
  if (!fs.existsSync(PYTORCH_SCRIPT)) {
    return Promise.reject(new Error(`${PYTORCH_SCRIPT} not found (it is in a checkout of senet's repository, not in the npm package)`));
  }
  return new Promise((resolve, reject) => {
    // The thread count is set in the script (torch.set_num_threads), so that it can also report
    // torch's own default in this environment.
    const env = { ...process.env, PYTHONUNBUFFERED: '1' };
    const child = spawn(o.python, pytorchArgs(o), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderrTail = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      o.log?.write(d);
      stderrTail = (stderrTail + d).slice(-2000);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code === 0) {
        try {
          resolve(JSON.parse(last) as PytorchResult);
          return;
        } catch {
          reject(new Error(`the PyTorch script printed no JSON object: ${last.slice(0, 200)}`));
          return;
        }
      }
      const words = stderrTail.trim().split('\n').slice(-3).join(' | ');
      reject(new Error(`the PyTorch script failed (${signal ?? `exit code ${code}`}): ${words}`));
    });
  });
}
