/**
 * One training run from plain options (what `senet train` does): data, model, optimizer,
 * schedule, trainer, run folder; and the evaluation of a checkpoint (`senet eval`).
 */
import * as path from 'node:path';
import { resolveDevice, type DeviceRequest } from '../backends';
import { SenetError } from '../errors';
import { augmentOptions, BatchLoader, loadDataset, loadImageFolderSplits, type ImageDataset, type ImageFolderDataset } from '../data';
import type { Preprocessing } from '../predict/preprocessing';
import { createModel, PRESETS, type ModelName } from '../nn';
import { SGD } from '../optim';
import { makeSchedule, type ScheduleSpec } from '../optim/schedules';
import type { ProgressMode } from './progress';
import { prepareRunData, type RunData, type RunDataset } from './run_data';
import { loadTrainingCheckpoint, Trainer, type FitResult } from './trainer';

/** Options of a training run; every field has a default (the README's demo). */
export interface RunOptions {
  /** A built-in dataset, or 'folder': your images in root/<class>/*.png|jpg|jpeg|webp (--data). */
  dataset: RunDataset;
  /** Folder of the dataset's files; default per dataset (Fashion-MNIST: /usr/share/datasets/fashion-mnist). */
  data?: string;
  model: ModelName;
  stem?: 'imagenet' | 'cifar';
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  labelSmoothing: number;
  schedule: 'constant' | 'step' | 'multistep' | 'cosine';
  /** Warmup epochs of the cosine schedule. */
  warmupEpochs: number;
  device: DeviceRequest;
  /** Run folder: metrics.jsonl, curves.svg, checkpoint.safetensors. */
  out: string;
  /** Checkpoint to continue from. */
  resume?: string;
  /** Use only the first N training images. */
  limit?: number;
  /** Image folders: the side images are resized to (default 64). */
  size?: number;
  /** Image folders: 1 (gray) or 3 (RGB, the default). */
  channels?: number;
  /** Images held out of the training set for validation. */
  valCount: number;
  /** Random crops (and flips where they fit the data) while training. */
  augment: boolean;
  seed: number;
  progress: ProgressMode;
  workers?: number;
  /** Also checkpoint every N steps (a checkpoint is always written at each epoch's end). */
  checkpointEverySteps?: number;
  /** Cancels the run at the next step boundary, after a checkpoint (fit rejects with an AbortError). */
  signal?: AbortSignal;
}

/**
 * The demo: an SE-ResNeXt learns Fashion-MNIST in about two minutes on two CPU cores (89.7 %).
 * SE-ResNeXt-50 itself needs about three minutes an epoch there and reached only 77-83 % after
 * one: see the README.
 */
export const DEFAULT_RUN: RunOptions = {
  dataset: 'fashion-mnist',
  model: 'seresnext26_8x8d',
  epochs: 3,
  batchSize: 64,
  lr: 0.5,
  momentum: 0.9,
  weightDecay: 1e-4,
  labelSmoothing: 0,
  schedule: 'cosine',
  warmupEpochs: 0.2,
  device: 'auto',
  out: 'runs/latest',
  valCount: 2000,
  // Over a few epochs random crops and flips cost more accuracy than they buy (89.7 % without,
  // 87.0 % with, for this run); long runs want them: --augment.
  augment: false,
  seed: 0,
  progress: 'auto',
};

/** What a run reports (the `--json` line). */
export interface RunSummary {
  epochs: number;
  trainLoss: number;
  trainAccuracy: number;
  valAccuracy: number | null;
  testLoss: number | null;
  testAccuracy: number | null;
  imagesPerSecond: number;
  device: string;
  model: string;
  out: string;
  seconds: number;
}

function scheduleSpec(o: RunOptions): ScheduleSpec {
  switch (o.schedule) {
    case 'constant':
      return { kind: 'constant', lr: o.lr };
    case 'step':
      return { kind: 'step', lr: o.lr, stepSize: 30, gamma: 0.1 };
    case 'multistep':
      return { kind: 'multistep', lr: o.lr, milestones: [Math.max(1, Math.round(o.epochs / 2)), Math.max(1, Math.round((o.epochs * 3) / 4))], gamma: 0.1 };
    case 'cosine':
      return { kind: 'cosine', lr: o.lr, epochs: o.epochs, warmupEpochs: Math.min(o.warmupEpochs, o.epochs), minLr: 0 };
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// What a resumed run must keep the same (not where to write, what to resume, or how to show it).
function persistent(o: RunOptions): Partial<RunOptions> {
  const { out: _out, resume: _resume, progress: _progress, device: _device, workers: _workers, data: _data, signal: _signal, checkpointEverySteps: _every, ...rest } = o;
  return definedOnly(rest);
}

function loaders(o: RunOptions, d: RunData) {
  const workers = o.workers;
  const evalOpts = { batchSize: Math.max(o.batchSize, 128), shuffle: false, augment: d.evalAugment, seed: o.seed, workers };
  return {
    train: new BatchLoader(d.train, { batchSize: o.batchSize, shuffle: true, augment: d.trainAugment, seed: o.seed, workers }),
    val: d.val && d.val.count > 0 ? new BatchLoader(d.val, evalOpts) : undefined,
    test: d.test ? new BatchLoader(d.test, evalOpts) : undefined,
  };
}

/** Trains as `senet train` does and returns the summary. */
export async function runTraining(options: Partial<RunOptions>, stream: NodeJS.WriteStream = process.stderr): Promise<RunSummary> {
  const started = Date.now();
  // Resuming continues the run as it was: its settings, unless given again explicitly.
  const resumed = options.resume ? await loadTrainingCheckpoint(options.resume) : undefined;
  const saved = (resumed?.info['run'] ?? {}) as Partial<RunOptions>;
  const o: RunOptions = { ...DEFAULT_RUN, ...saved, ...definedOnly(options) };
  const d = await prepareRunData({ ...o, valGiven: options.valCount !== undefined });
  const train = d.train;
  const config = resumed?.config ?? { ...PRESETS[o.model], numClasses: d.preprocessing.classes.length, inChannels: train.channels, stem: o.stem ?? PRESETS[o.model].stem };
  const device = resolveDevice(o.device);
  const model = createModel(config, { device, seed: o.seed });
  const sgd = new SGD(model, { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay, nesterov: false });
  const trainer = new Trainer(model, sgd, {
    schedule: makeSchedule(resumed?.schedule ?? scheduleSpec(o)),
    labelSmoothing: o.labelSmoothing,
    outDir: o.out,
    progress: o.progress,
    stream,
    checkpointEverySteps: o.checkpointEverySteps,
    checkpointInfo: { dataset: o.dataset, run: persistent(o), preprocessing: d.preprocessing },
  });
  if (o.resume) await trainer.restore(o.resume);
  model.preprocessing = d.preprocessing;
  const data = loaders(o, d);
  stream.write(
    `senet: ${o.model} (${(model.parameterCount / 1e6).toFixed(1)} M parameters, ${config.stem} stem) on ${device}, ` +
      `${o.dataset}: ${train.count} training / ${d.val?.count ?? 0} validation / ${d.test?.count ?? 0} test images, batch ${o.batchSize}, ${o.epochs} epoch(s) → ${path.resolve(o.out)}\n`,
  );
  let result: FitResult;
  try {
    result = await trainer.fit({ train: data.train, val: data.val, test: data.test, imageSize: [train.height, train.width], epochs: o.epochs, signal: o.signal });
  } finally {
    await Promise.all([data.train.close(), data.val?.close(), data.test?.close()]);
    trainer.dispose();
    sgd.dispose();
    model.dispose();
  }
  const last = result.history[result.history.length - 1];
  return {
    epochs: result.history.length,
    trainLoss: last?.trainLoss ?? NaN,
    trainAccuracy: last?.trainAccuracy ?? NaN,
    valAccuracy: last?.valAccuracy ?? null,
    testLoss: result.testLoss ?? null,
    testAccuracy: result.testAccuracy ?? null,
    imagesPerSecond: result.imagesPerSecond,
    device,
    model: o.model,
    out: path.resolve(o.out),
    seconds: (Date.now() - started) / 1000,
  };
}

/** Test loss and accuracy of a checkpoint on its dataset's test split. */
export async function runEvaluation(options: { checkpoint: string; dataset?: RunDataset; data?: string; batchSize?: number; device?: DeviceRequest; progress?: ProgressMode }): Promise<{ testLoss: number; testAccuracy: number; images: number; device: string }> {
  const ck = await loadTrainingCheckpoint(options.checkpoint);
  const dataset = options.dataset ?? (ck.info['dataset'] as RunDataset | undefined) ?? 'fashion-mnist';
  let testSet: ImageDataset | ImageFolderDataset;
  let augment = null;
  if (dataset === 'folder') {
    // An image folder is evaluated on its test/ split, else val/, else all of it, as it was trained.
    const p = ck.info['preprocessing'] as Preprocessing | undefined;
    if (!options.data) throw new SenetError('SENET_ARGUMENT', 'senet eval: --data: expected the image folder, received none');
    if (!p) throw new SenetError('SENET_FORMAT', `senet eval: ${options.checkpoint}: expected the preprocessing of an image-folder run, received none`);
    const splits = await loadImageFolderSplits(options.data, { size: [p.height, p.width], channels: p.channels, classes: p.classes });
    testSet = splits.test ?? splits.val ?? splits.train;
    augment = { cropPadding: 0, flip: false, mean: p.mean, std: p.std };
  } else {
    testSet = (await loadDataset(dataset, options.data)).test;
    augment = augmentOptions(dataset, false);
  }
  const device = resolveDevice(options.device ?? 'auto');
  const model = createModel(ck.config, { device });
  const sgd = new SGD(model, { lr: 0 });
  const trainer = new Trainer(model, sgd, { progress: 'none' });
  const test = new BatchLoader(testSet, { batchSize: options.batchSize ?? 256, shuffle: false, augment, seed: 0 });
  try {
    model.loadStateDict(ck.state);
    const r = await trainer.evaluate(test, [testSet.height, testSet.width]);
    return { testLoss: r.loss, testAccuracy: r.accuracy, images: r.images, device };
  } finally {
    await test.close();
    trainer.dispose();
    sgd.dispose();
    model.dispose();
  }
}
