/**
 * The benchmark behind `senet bench`: training images per second (upload, forward, loss,
 * backward, SGD step), inference images per second (upload, forward, logits read back), peak
 * memory, and where a training step's time goes — then, when a Python with torch is there, the
 * same measurement in PyTorch and the ratios senet / PyTorch.
 *
 * The data path is the one `senet train` takes: on CUDA the batch goes up as bytes and is
 * normalised on the device (a quarter of float32's bytes), on the CPU as floats. Both kinds of
 * step run one ahead, as the trainer's: step k's result is read behind step k+1's upload, so that
 * the upload overlaps the device's work on step k.
 *
 * Each figure is the median of `repeats` runs of `steps` steps, after `warmup` steps.
 */
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { backends, cudaConvolutionAlgorithms, getNumThreads, resetNumThreads, resolveDevice, setNumThreads, synchronize, type ConvolutionAlgorithms, type DeviceRequest } from '../backends';
import { binding } from '../binding';
import { createModel, PRESETS, type ModelName, type SEResNeXtConfig } from '../nn';
import * as ops from '../ops';
import { SGD } from '../optim';
import { OP_FAMILIES, profileReport, resetProfile, startProfiling, stopProfiling, timed, type OpFamily } from '../profile';
import { empty, randn, type Device, type Tensor } from '../tensor';
import { checkInt, checkNumber, checkOneOf, checkOptions } from '../validate';
import { PeakSampler } from './memory';
import { checkPrecision, type Precision } from '../precision';
import { findTorchPython, runPytorch, type PytorchResult } from './pytorch';

/** What to measure. */
export interface BenchOptions {
  model: ModelName;
  batchSize: number;
  /** Image height and width. */
  size: number;
  /** Image channels. */
  channels: number;
  classes: number;
  /** Default: the preset's. */
  stem?: 'imagenet' | 'cifar';
  device: DeviceRequest;
  /** senet's precision, and PyTorch's matching mode (bf16: autocast with channels-last; tf32: allow_tf32). */
  precision: Precision;
  /** Steps per timed repeat. */
  steps: number;
  /** Untimed steps first (training, and again for inference). */
  warmup: number;
  /** Timed repeats; each figure is their median. */
  repeats: number;
  /** Also time each op family (on the CPU during the timed training repeats; on CUDA in `steps` extra steps, synchronised per op). */
  breakdown: boolean;
  /** Run PyTorch side by side when a Python with torch is found. */
  pytorch: boolean;
  /** PyTorch's memory format(s): its default NCHW, channels-last, or both. */
  pytorchFormat: 'nchw' | 'channels_last' | 'both';
  lr: number;
  momentum: number;
  weightDecay: number;
  seed: number;
  /** Progress lines; null: quiet. */
  log: NodeJS.WritableStream | null;
}

/** The defaults: SE-ResNeXt-50 on Fashion-MNIST-sized batches. */
export const DEFAULT_BENCH: BenchOptions = {
  model: 'seresnext50_32x4d',
  batchSize: 32,
  size: 28,
  channels: 1,
  classes: 10,
  device: 'auto',
  precision: 'fp32',
  steps: 5,
  warmup: 2,
  repeats: 3,
  breakdown: false,
  pytorch: true,
  pytorchFormat: 'nchw',
  lr: 0.01,
  momentum: 0.9,
  weightDecay: 1e-4,
  seed: 0,
  log: process.stderr,
};

/** Milliseconds per training step by op family, and the step's time that no op accounts for. */
export interface Breakdown {
  /** Wall time of a profiled step. */
  stepMs: number;
  /** Per family, ms per step. */
  families: Record<OpFamily, number>;
  /** stepMs less the families: JavaScript (argument checks, buffers, the loop), and GC. */
  unaccountedMs: number;
  /** Per op, ms and calls per step. */
  ops: Record<string, { family: OpFamily; ms: number; calls: number }>;
  /** True when each op was timed with a GPU synchronisation around it. */
  synchronized: boolean;
  method: string;
  /** On CUDA, the cuDNN algorithm chosen for each convolution shape (empty on the CPU). */
  convolutionAlgorithms: ConvolutionAlgorithms[];
  /**
   * On CUDA, ms per step the convolutions' library calls take by the library's own measured times
   * (cuDNN's when it chose the algorithm) times the calls each shape made in the profiled steps;
   * null on the CPU. What `conv + BN + ReLU` spends beyond their sum is senet's batch-norm kernels,
   * the bf16 weight-gradient casts and launch gaps.
   */
  convolutionLibraryMs: ConvolutionLibraryMs | null;
}

/** Per direction, ms per step (see Breakdown.convolutionLibraryMs); `unmeasured` counts shapes without a measured time. */
export interface ConvolutionLibraryMs {
  forward: number;
  backwardData: number;
  backwardFilter: number;
  unmeasured: number;
}

/**
 * Weighs each shape's measured time of a direction by the calls it made between two snapshots of
 * cudaConvolutionAlgorithms(), per step.
 */
export function convolutionLibraryMs(before: readonly ConvolutionAlgorithms[], after: readonly ConvolutionAlgorithms[], steps: number): ConvolutionLibraryMs {
  const earlier = new Map(before.map((a) => [a.shape, a]));
  const out: ConvolutionLibraryMs = { forward: 0, backwardData: 0, backwardFilter: 0, unmeasured: 0 };
  for (const a of after) {
    const b = earlier.get(a.shape);
    const directions = [
      ['forward', a.forwardMs, a.forwardCalls - (b?.forwardCalls ?? 0)],
      ['backwardData', a.backwardDataMs, a.backwardDataCalls - (b?.backwardDataCalls ?? 0)],
      ['backwardFilter', a.backwardFilterMs, a.backwardFilterCalls - (b?.backwardFilterCalls ?? 0)],
    ] as const;
    let unmeasured = false;
    for (const [key, ms, calls] of directions) {
      if (calls <= 0) continue;
      if (ms > 0) out[key] += (ms * calls) / steps;
      else unmeasured = true;
    }
    if (unmeasured) out.unmeasured += 1;
  }
  return out;
}

/** senet / PyTorch for each figure (for memory, below 1 means senet uses less). */
export interface Ratios {
  trainImagesPerSecond: number | null;
  inferImagesPerSecond: number | null;
  peakRssBytes: number | null;
  peakGpuBytes: number | null;
}

/** PyTorch's figures with the ratios; more runs (e.g. channels-last) under `runs`. */
export type PytorchFigures = PytorchResult & { ratios: Ratios; ratiosByFormat: Record<string, Ratios> };

/** What `senet bench --json` prints. */
export interface BenchResult {
  trainImagesPerSecond: number | null;
  inferImagesPerSecond: number | null;
  peakRssBytes: number;
  peakGpuBytes: number | null;
  /** Resident memory before the model was built (Node, the addon, oneDNN): part of peakRssBytes. */
  baselineRssBytes: number;
  config: {
    model: ModelName;
    network: SEResNeXtConfig;
    parameters: number;
    batchSize: number;
    size: number;
    channels: number;
    classes: number;
    stem: 'imagenet' | 'cifar';
    steps: number;
    warmup: number;
    repeats: number;
    /** The input batch's type (the data a step uploads). */
    dtype: 'float32';
    /** senet's arithmetic (see Precision). */
    precision: Precision;
    layout: 'nhwc';
    optimizer: { kind: 'SGD'; lr: number; momentum: number; weightDecay: number };
  };
  device: { kind: Device; name: string; threads: number; isa?: string };
  versions: Record<string, string>;
  /** ms per step of each timed repeat. */
  trainStepMs: number[];
  inferStepMs: number[];
  breakdown: Breakdown | null;
  pytorch: PytorchFigures | null;
  /** Why pytorch is null. */
  pytorchReason: string | null;
  /** senet's own run failed (its figures are then null), e.g. an op not yet on the GPU. */
  error: { code: string | null; message: string } | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Threads senet's CPU backend computes with (setNumThreads; default $OMP_NUM_THREADS, else every CPU this process may run on). */
export function senetThreads(): number {
  return getNumThreads();
}

function senetVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../../package.json') as { version: string }).version;
}

function checkBenchOptions(options: Partial<BenchOptions>): BenchOptions {
  const w = 'runBench';
  const o = { ...DEFAULT_BENCH, ...Object.fromEntries(Object.entries(checkOptions(w, options)).filter(([, v]) => v !== undefined)) } as BenchOptions;
  checkOneOf(w, 'model', o.model, Object.keys(PRESETS) as ModelName[]);
  for (const k of ['batchSize', 'size', 'channels', 'classes', 'steps', 'repeats'] as const) checkInt(w, k, o[k], 1);
  checkInt(w, 'warmup', o.warmup, 0);
  checkInt(w, 'seed', o.seed, 0);
  checkNumber(w, 'lr', o.lr, 0);
  checkNumber(w, 'momentum', o.momentum, 0);
  checkNumber(w, 'weightDecay', o.weightDecay, 0);
  if (o.stem !== undefined) checkOneOf(w, 'stem', o.stem, ['imagenet', 'cifar'] as const);
  checkOneOf(w, 'device', o.device, ['auto', 'cpu', 'cuda'] as const);
  checkOneOf(w, 'pytorchFormat', o.pytorchFormat, ['nchw', 'channels_last', 'both'] as const);
  checkPrecision(w, o.precision);
  return o;
}

/** Labels in [0, classes) from a small LCG (the values do not matter, only that they are valid). */
function randomLabels(n: number, classes: number, seed: number): Int32Array {
  const out = new Int32Array(n);
  let s = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s % classes;
  }
  return out;
}

interface SenetFigures {
  trainStepMs: number[];
  inferStepMs: number[];
  breakdown: Breakdown | null;
  parameters: number;
}

function breakdownOf(stepMs: number, steps: number, synchronized: boolean, method: string, device: Device, algorithmsBefore: readonly ConvolutionAlgorithms[]): Breakdown {
  const r = profileReport();
  const families = Object.fromEntries(OP_FAMILIES.map((f) => [f, r.families[f] / steps])) as Record<OpFamily, number>;
  const perStep: Breakdown['ops'] = {};
  for (const [name, e] of Object.entries(r.ops)) perStep[name] = { family: e.family, ms: e.ms / steps, calls: e.calls / steps };
  const convolutionAlgorithms = device === 'cuda' ? cudaConvolutionAlgorithms() : [];
  const library = device === 'cuda' ? convolutionLibraryMs(algorithmsBefore, convolutionAlgorithms, steps) : null;
  return { stepMs, families, unaccountedMs: stepMs - r.totalMs / steps, ops: perStep, synchronized, method, convolutionAlgorithms, convolutionLibraryMs: library };
}

async function measureSenet(o: BenchOptions, config: SEResNeXtConfig, device: Device, memory: PeakSampler): Promise<SenetFigures> {
  const log = (s: string) => o.log?.write(`[senet] ${s}\n`);
  const model = createModel(config, { device, seed: o.seed, precision: o.precision });
  const sgd = new SGD(model, { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay });
  const shape = [o.batchSize, o.size, o.size, o.channels];
  const owned: Tensor[] = [];
  const keep = <T extends Tensor>(t: T) => (owned.push(t), t);
  try {
    const hostImages = (() => {
      const t = randn(shape, { seed: o.seed + 1 });
      try {
        return t.toArray() as Float32Array;
      } finally {
        t.dispose();
      }
    })();
    const hostLabels = randomLabels(o.batchSize, o.classes, o.seed);
    const x = keep(empty(shape, { device }));
    // On CUDA, bytes and their (C, 256) normalisation table, as `senet train` uploads them.
    const byteUpload = device === 'cuda';
    const hostBytes = byteUpload ? Uint8Array.from(hostImages, (v) => Math.max(0, Math.min(255, Math.round(128 + 32 * v)))) : null;
    const bytes = byteUpload ? keep(empty(shape, { dtype: 'uint8', device })) : null;
    const table = byteUpload ? keep(empty([o.channels, 256], { device })) : null;
    table?.set(Float32Array.from({ length: o.channels * 256 }, (_, i) => ((i % 256) / 255 - 0.5) / 0.25));
    const y = keep(empty([o.batchSize], { dtype: 'int32', device }));
    const loss = keep(empty([], { device }));
    const correct = keep(empty([], { dtype: 'int32', device }));
    const dlogits = keep(empty([o.batchSize, o.classes], { device }));
    const sync = () => synchronize(device);
    const upload = () =>
      timed('data', 'upload', () => {
        if (bytes && table && hostBytes) {
          bytes.set(hostBytes);
          ops.normalizeBytes(bytes, table, x);
        } else {
          x.set(hostImages);
        }
        y.set(hostLabels);
      });

    // As the trainer's step: the step before's loss is read behind this step's upload and
    // awaited once this step is queued, so the device never waits for the JavaScript and the
    // JavaScript stays one step ahead (no more batches queued than the trainer's).
    let readLast: (() => Promise<unknown>) | null = null;
    const queueTrainStep = (): Promise<unknown> | undefined => {
      upload();
      const before = readLast?.();
      const logits = model.logits(x);
      ops.crossEntropyForward(logits, y, {}, { loss, correct });
      model.backward(ops.crossEntropyBackward(logits, y, {}, dlogits));
      sgd.step();
      readLast = () => loss.data();
      return before;
    };
    const trainStep = async (): Promise<void> => {
      await queueTrainStep();
    };
    // As a training step: step k's logits are read behind step k+1's upload, before step k+1's
    // forward overwrites the model's logits buffer.
    let readLogits: (() => Promise<unknown>) | null = null;
    const inferStep = async (): Promise<void> => {
      upload();
      const before = readLogits?.();
      const logits = model.logits(x);
      readLogits = () => logits.data();
      await before;
    };
    const repeats = async (label: string, step: () => Promise<void> | void): Promise<number[]> => {
      const perStep: number[] = [];
      for (let r = 0; r < o.repeats; r++) {
        sync();
        const t0 = performance.now();
        for (let i = 0; i < o.steps; i++) await step();
        sync();
        const ms = (performance.now() - t0) / o.steps;
        perStep.push(ms);
        memory.sample();
        log(`${label} repeat ${r + 1}/${o.repeats}: ${ms.toFixed(1)} ms/step, ${((o.batchSize * 1000) / ms).toFixed(1)} img/s`);
      }
      return perStep;
    };

    log(`${o.model}, ${model.parameterCount.toLocaleString('en-US')} parameters, ${shape.join('x')} NHWC on ${device}, ${o.warmup} warm-up step(s)`);
    model.train();
    for (let i = 0; i < o.warmup; i++) await trainStep();
    const lastLoss = o.warmup > 0 ? (loss.toArray() as Float32Array)[0]! : NaN; // waits for the warm-up
    memory.sample();
    if (!Number.isFinite(lastLoss) && o.warmup > 0) log(`warning: the warm-up loss is ${lastLoss}`);

    const trainStepMs = await repeats('train', trainStep);
    // Ops run on the device's executor: the profiler waits for it around each op, which slows a
    // step down, so the breakdown gets steps of its own, queued without a turn of the event loop
    // (the profiler counts every op called while it is on).
    let breakdown: Breakdown | null = null;
    if (o.breakdown) {
      const algorithmsBefore = device === 'cuda' ? cudaConvolutionAlgorithms() : [];
      startProfiling({ device });
      const t0 = performance.now();
      try {
        for (let i = 0; i < o.steps; i++) void queueTrainStep();
        sync();
      } finally {
        stopProfiling();
      }
      breakdown = breakdownOf((performance.now() - t0) / o.steps, o.steps, true, `${o.steps} extra steps, the ${device === 'cuda' ? 'GPU' : 'CPU executor'} synchronised around each op`, device, algorithmsBefore);
    }
    resetProfile();

    model.eval();
    for (let i = 0; i < o.warmup; i++) await inferStep();
    sync();
    const inferStepMs = await repeats('infer', inferStep);
    model.train();
    return { trainStepMs, inferStepMs, breakdown, parameters: model.parameterCount };
  } finally {
    for (const t of owned) t.dispose();
    sgd.dispose();
    model.dispose();
  }
}

function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;
}

function ratiosOf(r: BenchResult, p: { trainImagesPerSecond: number; inferImagesPerSecond: number; peakRssBytes: number; peakGpuBytes: number | null }): Ratios {
  return {
    trainImagesPerSecond: ratio(r.trainImagesPerSecond, p.trainImagesPerSecond),
    inferImagesPerSecond: ratio(r.inferImagesPerSecond, p.inferImagesPerSecond),
    peakRssBytes: ratio(r.peakRssBytes, p.peakRssBytes),
    peakGpuBytes: ratio(r.peakGpuBytes, p.peakGpuBytes),
  };
}

/** Runs the benchmark (senet, then PyTorch when asked and found) and returns every figure. */
export async function runBench(options: Partial<BenchOptions> = {}): Promise<BenchResult> {
  const o = checkBenchOptions(options);
  const device = resolveDevice(o.device);
  const preset = PRESETS[o.model];
  const config: SEResNeXtConfig = { ...preset, inChannels: o.channels, numClasses: o.classes, stem: o.stem ?? preset.stem };
  const info = binding.buildInfo();
  const b = backends();
  const threads = senetThreads();
  // A fixed team, as PyTorch's: the default one would leave out cores that other processes keep busy.
  const pinned = b.cpu.adaptiveThreads;
  if (pinned) setNumThreads(threads);
  const versions: Record<string, string> = { senet: senetVersion(), oneDNN: info.onednn, node: process.version };
  let deviceInfo: BenchResult['device'] = { kind: device, name: os.cpus()[0]?.model.trim() ?? 'unknown CPU', threads, isa: info.cpuIsa };
  if (device === 'cuda') {
    const d = b.cuda.devices.find((x) => x.index === b.cuda.selectedDevice);
    deviceInfo = { kind: device, name: d?.name ?? 'unknown GPU', threads };
    const ver = (n: number) => `${Math.floor(n / 1000)}.${(n % 1000) / 10}`;
    Object.assign(versions, { cuda: ver(b.cuda.runtimeVersion), cudnn: b.cuda.cudnn.version, cublas: b.cuda.cublas.version });
  }

  const memory = new PeakSampler(device === 'cuda');
  const baselineRssBytes = process.memoryUsage.rss();
  memory.sample();
  let figures: SenetFigures | null = null;
  let error: BenchResult['error'] = null;
  try {
    figures = await measureSenet(o, config, device, memory);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    error = { code: e.code ?? null, message: e.message ?? String(err) };
    o.log?.write(`[senet] failed: ${error.message}${error.code ? ` [${error.code}]` : ''}\n`);
  } finally {
    if (pinned) resetNumThreads();
  }
  memory.sample();

  const result: BenchResult = {
    trainImagesPerSecond: figures ? (o.batchSize * 1000) / median(figures.trainStepMs) : null,
    inferImagesPerSecond: figures ? (o.batchSize * 1000) / median(figures.inferStepMs) : null,
    peakRssBytes: memory.peakRssBytes,
    peakGpuBytes: memory.peakGpuBytes,
    baselineRssBytes,
    config: {
      model: o.model,
      network: config,
      parameters: figures?.parameters ?? 0,
      batchSize: o.batchSize,
      size: o.size,
      channels: o.channels,
      classes: o.classes,
      stem: config.stem,
      steps: o.steps,
      warmup: o.warmup,
      repeats: o.repeats,
      dtype: 'float32',
      precision: o.precision,
      layout: 'nhwc',
      optimizer: { kind: 'SGD', lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay },
    },
    device: deviceInfo,
    versions,
    trainStepMs: figures?.trainStepMs ?? [],
    inferStepMs: figures?.inferStepMs ?? [],
    breakdown: figures?.breakdown ?? null,
    pytorch: null,
    pytorchReason: null,
    error,
  };

  if (!o.pytorch) {
    result.pytorchReason = 'not asked (--no-pytorch)';
    return result;
  }
  const py = findTorchPython();
  if (py.python === null) {
    result.pytorchReason = py.reason;
    return result;
  }
  o.log?.write(`[senet] PyTorch ${py.torch} (${py.python}), ${threads} thread(s) as senet's\n`);
  try {
    const p = await runPytorch({
      python: py.python,
      model: o.model,
      config,
      batchSize: o.batchSize,
      size: o.size,
      device,
      steps: o.steps,
      warmup: o.warmup,
      repeats: o.repeats,
      threads,
      lr: o.lr,
      momentum: o.momentum,
      weightDecay: o.weightDecay,
      breakdown: o.breakdown,
      memoryFormat: o.pytorchFormat,
      precision: o.precision,
      log: o.log,
    });
    const ratiosByFormat: Record<string, Ratios> = {};
    for (const run of p.runs) ratiosByFormat[run.memoryFormat] = ratiosOf(result, run);
    result.pytorch = { ...p, ratios: ratiosOf(result, p), ratiosByFormat };
    versions['torch'] = String(p.versions['torch']);
    if (figures && p.parameters !== figures.parameters) {
      o.log?.write(`[senet] warning: PyTorch's network has ${p.parameters} parameters, senet's ${figures.parameters}\n`);
    }
  } catch (err) {
    result.pytorchReason = (err as Error).message;
  }
  return result;
}
