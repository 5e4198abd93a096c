/**
 * One training run from plain options (what `senet train` does): data, model, optimizer,
 * schedule, trainer, run folder; and the evaluation of a checkpoint (`senet eval`).
 *
 * Resuming follows one rule: the checkpoint's settings, except those given now, which win. What
 * the checkpoint fixes (the network, hence --model and --stem, and the dataset) cannot be given
 * otherwise; neither can what orders the batches (--batch-size, --limit, --val, --seed) when the
 * checkpoint stopped in the middle of an epoch. A schedule setting given now (or a new --epochs)
 * rebuilds the schedule over the run's epochs, so that a finished run given more epochs goes on
 * training instead of sitting at the end of its old schedule. Every line of it is printed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveDevice, type DeviceRequest } from '../backends';
import type { Device } from '../tensor';
import { checkPrecision, defaultTrainingPrecision, precisionSupport, type Precision } from '../precision';
import { augmentOptions, BatchLoader, loadDataset, loadImageFolderSplits, type Batch, type ByteBatch, type ImageDataset, type ImageFolderDataset } from '../data';
import { SenetError } from '../errors';
import { createModel, PRESETS, type ModelName, type SEResNeXtConfig } from '../nn';
import { SGD } from '../optim';
import { makeSchedule, type ScheduleSpec } from '../optim/schedules';
import { checkInt, checkRule, checkSignal, describe, fail } from '../validate';
import type { Preprocessing } from '../predict/preprocessing';
import { loadTrainingCheckpoint, type TrainingCheckpoint } from './checkpoint_file';
import type { ProgressMode } from './progress';
import { newRunFolder, RUN_FILES, RunFolder } from './run_folder';
import { prepareRunData, type RunData, type RunDataset } from './run_data';
import { checkRunOptions, definedOnly, DEFAULT_RUN, RUN_DATASETS, RUN_OPTION_RULES, RUNS_DIR, type RunOptionKey, type RunOptions } from './run_options';
import { Trainer, type FitResult } from './trainer';

export { DEFAULT_RUN, RUN_OPTION_RULES, RUNS_DIR, checkRunOptions, type RunOptions, type RunOptionKey } from './run_options';

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
  /** The precision it trained in. */
  precision: Precision;
  /** The preset trained ('custom' for a checkpoint's config that is none of them). */
  model: string;
  out: string;
  seconds: number;
  /** Warnings printed while training (a loss that climbed far above its start). */
  warnings: string[];
}

const W = 'senet train';
const flag = (k: RunOptionKey) => RUN_OPTION_RULES[k].flag;

/** The preset a config is (whatever its stem, channels and classes), if any. */
export function presetOf(config: SEResNeXtConfig): ModelName | undefined {
  const key = (c: SEResNeXtConfig) => JSON.stringify([c.layers, c.channels, c.cardinality, c.baseWidth, c.stemWidth]);
  return (Object.keys(PRESETS) as ModelName[]).find((name) => key(PRESETS[name]) === key(config));
}

function scheduleSpec(o: RunOptions, stepsPerEpoch: number): ScheduleSpec {
  switch (o.schedule) {
    case 'constant':
      return { kind: 'constant', lr: o.lr };
    case 'step':
      return { kind: 'step', lr: o.lr, stepSize: 30, gamma: 0.1 };
    case 'multistep':
      return { kind: 'multistep', lr: o.lr, milestones: [Math.max(1, Math.round(o.epochs / 2)), Math.max(1, Math.round((o.epochs * 3) / 4))], gamma: 0.1 };
    case 'cosine': {
      // At least warmupSteps steps (at most half the run), so that a short run does not reach its
      // peak rate within a handful of steps.
      const steps = Math.max(o.warmupEpochs * stepsPerEpoch, Math.min(o.warmupSteps, (o.epochs * stepsPerEpoch) / 2));
      return { kind: 'cosine', lr: o.lr, epochs: o.epochs, warmupEpochs: Math.min(o.epochs, steps / stepsPerEpoch), minLr: 0 };
    }
  }
}

function describeSchedule(spec: ScheduleSpec, stepsPerEpoch: number): string {
  switch (spec.kind) {
    case 'constant':
      return `constant learning rate ${spec.lr}`;
    case 'step':
      return `learning rate ${spec.lr}, x${spec.gamma} every ${spec.stepSize} epochs`;
    case 'multistep':
      return `learning rate ${spec.lr}, x${spec.gamma} at epochs ${spec.milestones.join(', ')}`;
    case 'cosine':
      return `cosine learning rate from ${spec.lr} over ${spec.epochs} epoch(s) after ${Math.round(spec.warmupEpochs * stepsPerEpoch)} warmup steps`;
  }
}

function describePrecision(precision: Precision, auto: boolean, device: Device): string {
  if (precision === 'bf16') return auto ? `bf16 mixed precision (the default ${device === 'cpu' ? 'where the CPU has fast bf16' : 'on the GPU'}; --precision fp32 for float32)` : 'bf16 mixed precision';
  if (precision === 'tf32') return 'tf32 (TF32 tensor cores on the GPU)';
  return auto ? 'float32 (no fast bf16 on this CPU)' : 'float32';
}

// What a resumed run must keep the same (not where to write, what to resume, or how to show it).
function persistent(o: RunOptions, model: ModelName | undefined): Partial<RunOptions> {
  const { out: _out, resume: _resume, progress: _progress, device: _device, workers: _workers, data: _data, signal: _signal, checkpointEverySteps: _every, overwrite: _overwrite, model: _model, ...rest } = o;
  return definedOnly({ ...rest, model });
}

/** What resuming takes from the checkpoint, and the flags it refuses. */
interface Resumed {
  file: string;
  ck: TrainingCheckpoint;
  saved: Partial<RunOptions>;
  model: ModelName | undefined;
  dataset: RunDataset | undefined;
}

async function readResumed(file: string, given: Partial<RunOptions>): Promise<Resumed> {
  const ck = await loadTrainingCheckpoint(file);
  const saved = checkRunOptions(`${file}: info.run`, ck.info['run'] ?? {}, (k) => k, 'SENET_FORMAT');
  // A checkpoint from before precisions were a setting was trained in float32.
  saved.precision ??= 'fp32';
  const infoDataset = ck.info['dataset'];
  const dataset = (saved.dataset ?? (infoDataset === undefined ? undefined : checkRule(`${file}: info`, 'dataset', infoDataset, { kind: 'choice', choices: RUN_DATASETS }, 'SENET_FORMAT'))) as RunDataset | undefined;
  const model = presetOf(ck.config);
  const fixed = (k: RunOptionKey, theirs: unknown, why: string) => {
    if (given[k] !== undefined && theirs !== undefined && given[k] !== theirs) {
      fail('SENET_ARGUMENT', W, flag(k), `the checkpoint's ${describe(theirs)} (${why}), or no ${flag(k)}`, describe(given[k]));
    }
  };
  fixed('model', model ?? 'custom', 'a resumed run keeps its network');
  fixed('stem', ck.config.stem, 'a resumed run keeps its network');
  fixed('dataset', dataset, 'a resumed run keeps its dataset');
  const pos = ck.position;
  if (pos.batch > 0) {
    for (const k of ['batchSize', 'limit', 'valCount', 'seed'] as const) {
      fixed(k, saved[k] ?? (k === 'limit' ? 'all images' : undefined), `the checkpoint stopped in the middle of epoch ${pos.epoch + 1}, whose batches depend on it; resume from an epoch's end to change it`);
    }
  }
  return { file, ck, saved, model, dataset };
}

/** The folder a run writes when it is given (--out) or implied (the resumed checkpoint's); undefined: a new one. */
function givenFolder(given: Partial<RunOptions>, resumed: Resumed | undefined): string | undefined {
  // The folder itself, not runs/latest: another run may point that link elsewhere meanwhile.
  return given.out ?? (resumed ? fs.realpathSync(path.dirname(resumed.file)) : undefined);
}

/**
 * Refuses a folder that holds another run (unless --overwrite, or it is the resumed checkpoint's
 * own); returns the run files to remove. Checked before the data load (no side effect, a quick
 * answer) and again under the lock.
 */
function runFilesToReplace(out: string, files: string[], given: Partial<RunOptions>, resumed: Resumed | undefined): string[] {
  if (files.length === 0) return [];
  const same = (a: string, b: string) => fs.realpathSync(a) === fs.realpathSync(b);
  if (resumed !== undefined && same(path.dirname(resumed.file), out)) return [];
  if (given.overwrite !== true) {
    fail('SENET_ARGUMENT', W, flag('out'), 'a folder without a run in it (or --resume of its checkpoint, or --overwrite to replace the run)', `${out}, which holds ${files.join(', ')}`);
  }
  return files;
}

/** The run folder, locked: the one given or implied, or a new runs/<date>-<time>. */
function runFolder(out: string | undefined, given: Partial<RunOptions>, resumed: Resumed | undefined, stream: NodeJS.WritableStream): RunFolder {
  if (out === undefined) {
    const made = newRunFolder(W, RUNS_DIR);
    if (made.note) stream.write(`senet: ${made.note}\n`);
    out = made.dir;
  }
  const folder = RunFolder.open(out, W);
  try {
    const removed = folder.removedTemporaryFiles;
    if (removed.files.length > 0) {
      stream.write(`senet: removed ${removed.files.length} temporary file(s) (${(removed.bytes / 2 ** 20).toFixed(1)} MiB) that a killed save left in ${out}\n`);
    }
    if (runFilesToReplace(out, folder.runFiles(), given, resumed).length > 0) folder.clearRunFiles(W);
    return folder;
  } catch (err) {
    folder.release();
    throw err;
  }
}

/** The training, validation and test data (a built-in dataset or an image folder), checked against the options and the checkpoint. */
async function runData(o: RunOptions, given: Partial<RunOptions>, resumed: Resumed | undefined): Promise<RunData> {
  const d = await prepareRunData({ ...o, valGiven: given.valCount !== undefined });
  const train = d.train;
  if (train.count < o.batchSize) {
    // Training drops an incomplete last batch, so this would train nothing.
    fail('SENET_ARGUMENT', W, flag('batchSize'), `at most the ${train.count} training images (after ${flag('valCount')} ${o.valCount}${o.limit ? ` and ${flag('limit')} ${o.limit}` : ''})`, String(o.batchSize));
  }
  if (resumed) {
    const c = resumed.ck.config;
    const classes = d.preprocessing.classes.length;
    if (c.inChannels !== train.channels || c.numClasses !== classes) {
      fail('SENET_ARGUMENT', W, `${flag('dataset')} / ${flag('data')}`, `images of ${c.inChannels} channel(s) in ${c.numClasses} classes, as the checkpoint's model takes`,
        `${train.name}: ${train.channels} channel(s), ${classes} classes`);
    }
  }
  return d;
}

function loaders(o: RunOptions, d: RunData, device: Device) {
  const workers = o.workers;
  // A GPU gets bytes and normalises them itself (a quarter of the copy, the same floats); on the
  // CPU the workers normalise beside the arithmetic.
  const bytes = device === 'cuda';
  const evalOpts = { batchSize: Math.max(o.batchSize, 128), shuffle: false, augment: d.evalAugment, seed: o.seed, workers, bytes };
  return {
    // An incomplete last batch is dropped, as PyTorch users set: a batch of one cannot train batch norm.
    train: new BatchLoader<Batch | ByteBatch>(d.train, { batchSize: o.batchSize, shuffle: true, augment: d.trainAugment, seed: o.seed, workers, dropLast: true, bytes }),
    val: d.val && d.val.count > 0 ? new BatchLoader<Batch | ByteBatch>(d.val, evalOpts) : undefined,
    test: d.test ? new BatchLoader<Batch | ByteBatch>(d.test, evalOpts) : undefined,
  };
}

/**
 * Trains as `senet train` does and returns the summary. Options are checked as the command's
 * flags are, and messages name the flags. See the module's comment for what resuming keeps.
 */
export async function runTraining(options: Partial<RunOptions>, stream: NodeJS.WriteStream = process.stderr): Promise<RunSummary> {
  const started = Date.now();
  const given = checkRunOptions(W, options ?? {}, flag);
  const resumed = given.resume !== undefined ? await readResumed(given.resume, given) : undefined;
  const o: RunOptions = { ...DEFAULT_RUN, ...resumed?.saved, ...given };
  if (resumed) {
    o.dataset = resumed.dataset ?? o.dataset;
    o.stem = resumed.ck.config.stem;
    if (resumed.model) o.model = resumed.model;
  }
  if (o.warmupEpochs > o.epochs) fail('SENET_ARGUMENT', W, flag('warmupEpochs'), `at most ${flag('epochs')} (${o.epochs})`, String(o.warmupEpochs));
  // A flag that would change nothing is refused rather than reported as if it had.
  for (const k of ['warmupEpochs', 'warmupSteps'] as const) {
    if (given[k] !== undefined && o.schedule !== 'cosine') {
      fail('SENET_ARGUMENT', W, flag(k), `${flag('schedule')} cosine (the only schedule with a warmup)`, `${flag('schedule')} ${o.schedule}`);
    }
  }
  if (o.dataset === 'cifar10' && o.data === undefined) {
    fail('SENET_ARGUMENT', W, flag('data'), "CIFAR-10's folder (the one holding data_batch_1.bin …; it has no default)", 'none');
  }
  const done = resumed?.ck.position.epoch ?? 0;
  if (resumed && o.epochs <= done) {
    fail('SENET_ARGUMENT', W, flag('epochs'), `more than the ${done} epoch(s) the run in ${resumed.file} has finished, to train further`,
      given.epochs === undefined ? `none (its ${o.epochs})` : String(o.epochs));
  }

  const out = givenFolder(given, resumed);
  if (out !== undefined && fs.existsSync(out)) {
    runFilesToReplace(out, RUN_FILES.filter((f) => fs.existsSync(path.join(out, f))), given, resumed);
  }
  // The data next, so that a bad dataset leaves no new run folder behind.
  const d = await runData(o, given, resumed);
  const train = d.train;
  const folder = runFolder(out, given, resumed, stream);
  let model: ReturnType<typeof createModel> | undefined;
  let sgd: SGD | undefined;
  let trainer: Trainer | undefined;
  let data: ReturnType<typeof loaders> | undefined;
  try {
    const preset = PRESETS[o.model];
    const config = resumed?.ck.config ?? { ...preset, numClasses: d.preprocessing.classes.length, inChannels: train.channels, stem: o.stem ?? preset.stem };
    const modelName = resumed ? resumed.model : o.model;
    const device = resolveDevice(o.device);
    data = loaders(o, d, device);
    const stepsPerEpoch = data.train.batchesPerEpoch;

    const scheduleKeys = ['lr', 'schedule', 'warmupEpochs', 'warmupSteps', 'epochs'] as const;
    const changed = resumed ? scheduleKeys.filter((k) => given[k] !== undefined && given[k] !== resumed.saved[k]) : [];
    const kept = resumed?.ck.schedule && changed.length === 0 ? resumed.ck.schedule : undefined;
    const spec = kept ?? scheduleSpec(o, stepsPerEpoch);
    if (spec.kind === 'cosine' && spec.epochs < o.epochs) {
      fail('SENET_ARGUMENT', W, flag('epochs'), `at most the ${spec.epochs} epoch(s) the checkpoint's cosine schedule spans (give ${flag('schedule')} or ${flag('lr')} to rebuild it over more)`, String(o.epochs));
    }
    const schedule = makeSchedule(spec);

    const auto = o.precision === undefined || o.precision === 'auto';
    const precision: Precision = auto ? defaultTrainingPrecision(device) : (o.precision as Precision);
    o.precision = precision; // the checkpoint keeps what ran
    model = createModel(config, { device, seed: o.seed, precision });
    sgd = new SGD(model, { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay, nesterov: false });
    trainer = new Trainer(model, sgd, {
      schedule,
      labelSmoothing: o.labelSmoothing,
      outDir: folder,
      progress: o.progress,
      stream,
      checkpointEverySteps: o.checkpointEverySteps,
      checkpointInfo: { dataset: o.dataset, run: persistent(o, modelName), preprocessing: d.preprocessing },
    });
    model.preprocessing = d.preprocessing;
    stream.write(
      `senet: ${modelName ?? 'custom SE-ResNeXt'} (${(model.parameterCount / 1e6).toFixed(1)} M parameters, ${config.stem} stem) on ${device}, ` +
        `${o.dataset}: ${train.count} training / ${d.val?.count ?? 0} validation / ${d.test?.count ?? 0} test images, batch ${o.batchSize} ` +
        `(${stepsPerEpoch} steps per epoch), ${o.epochs} epoch(s), ${describeSchedule(spec, stepsPerEpoch)}, ${describePrecision(precision, auto, device)} → ${path.resolve(folder.dir)}\n`,
    );
    if (resumed) {
      await trainer.restore(resumed.ck);
      const pos = resumed.ck.position;
      const at = pos.epoch + pos.batch / stepsPerEpoch;
      const fromFlags = Object.keys(given).filter((k) => !['resume', 'out', 'progress', 'data', 'device', 'workers', 'signal'].includes(k)).map((k) => flag(k as RunOptionKey));
      const old = resumed.ck.schedule ? makeSchedule(resumed.ck.schedule).lrAt(at) : undefined;
      stream.write(
        `senet: resuming ${resumed.file} at epoch ${pos.epoch + 1}/${o.epochs}, step ${pos.batch + 1}/${stepsPerEpoch}: settings from the checkpoint` +
          `${fromFlags.length ? `, except ${fromFlags.join(', ')} from the command line` : ''}; ` +
          (kept ? `its schedule continues at learning rate ${schedule.lrAt(at).toPrecision(3)}\n`
            : `the schedule is rebuilt for ${changed.map((k) => flag(k)).join(', ')}: learning rate ${schedule.lrAt(at).toPrecision(3)} now` +
              `${old === undefined ? '' : ` (the checkpoint's schedule was at ${old.toPrecision(3)})`}\n`),
      );
    }
    const result: FitResult = await trainer.fit({ train: data.train, val: data.val, test: data.test, imageSize: [train.height, train.width], epochs: o.epochs, signal: o.signal });
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
      precision,
      model: modelName ?? 'custom',
      out: path.resolve(folder.dir),
      seconds: (Date.now() - started) / 1000,
      warnings: result.warnings,
    };
  } finally {
    await Promise.all([data?.train.close(), data?.val?.close(), data?.test?.close()]);
    trainer?.dispose();
    sgd?.dispose();
    model?.dispose();
    folder.release();
  }
}

/**
 * Test loss and accuracy of a checkpoint on its dataset's test split. `progress` shows the
 * batches done (default 'none'); `signal` stops at the next batch with an AbortError.
 */
export async function runEvaluation(options: { checkpoint: string; dataset?: RunDataset; data?: string; batchSize?: number; device?: DeviceRequest; precision?: 'auto' | Precision; progress?: ProgressMode; signal?: AbortSignal }): Promise<{ testLoss: number; testAccuracy: number; images: number; device: string; precision: Precision }> {
  const where = 'senet eval';
  if (options === null || typeof options !== 'object') fail('SENET_ARGUMENT', where, 'options', 'an object', describe(options));
  checkRule(where, '--checkpoint', options.checkpoint, { kind: 'path' });
  if (options.dataset !== undefined) checkRule(where, '--dataset', options.dataset, { kind: 'choice', choices: RUN_DATASETS });
  if (options.data !== undefined) checkRule(where, '--data', options.data, { kind: 'path' });
  const batchSize = options.batchSize === undefined ? 256 : checkInt(where, '--batch-size', options.batchSize, 1, 65_536);
  if (options.device !== undefined) checkRule(where, '--device', options.device, RUN_OPTION_RULES.device.rule);
  if (options.progress !== undefined) checkRule(where, '--progress', options.progress, RUN_OPTION_RULES.progress.rule);
  if (options.precision !== undefined) checkRule(where, '--precision', options.precision, RUN_OPTION_RULES.precision.rule);
  checkSignal(where, options.signal);
  const ck = await loadTrainingCheckpoint(options.checkpoint);
  const saved = ck.info['dataset'];
  const dataset = options.dataset ?? (saved === undefined ? 'fashion-mnist' : (checkRule(`${options.checkpoint}: info`, 'dataset', saved, { kind: 'choice', choices: RUN_DATASETS }, 'SENET_FORMAT') as RunDataset));
  let test: ImageDataset | ImageFolderDataset;
  let augment;
  if (dataset === 'folder') {
    // An image folder is evaluated on its test/ split, else val/, else all of it, as it was trained.
    const p = ck.info['preprocessing'] as Preprocessing | undefined;
    if (options.data === undefined) throw new SenetError('SENET_ARGUMENT', `${where}: --data: expected the image folder, received none`);
    if (!p) throw new SenetError('SENET_FORMAT', `${where}: ${options.checkpoint}: expected the preprocessing of an image-folder run, received none`);
    const splits = await loadImageFolderSplits(options.data, { size: [p.height, p.width], channels: p.channels, classes: p.classes });
    test = splits.test ?? splits.val ?? splits.train;
    augment = { cropPadding: 0, flip: false, mean: p.mean, std: p.std };
  } else {
    test = (await loadDataset(dataset, options.data)).test;
    augment = augmentOptions(dataset, false);
  }
  const c = ck.config;
  const classes = dataset === 'folder' ? c.numClasses : (test as ImageDataset).classes.length;
  if (c.inChannels !== test.channels || c.numClasses !== classes) {
    throw new SenetError('SENET_ARGUMENT', `${where}: --dataset / --data: expected images of ${c.inChannels} channel(s) in ${c.numClasses} classes, as the checkpoint's model takes, received ${test.name}: ${test.channels} channel(s), ${classes} classes`);
  }
  const device = resolveDevice(options.device ?? 'auto');
  // 'auto': the precision the checkpoint trained in where it runs here, else float32.
  const trained = (ck.info['run'] as { precision?: unknown } | undefined)?.precision;
  let precision: Precision = 'fp32';
  if (options.precision !== undefined && options.precision !== 'auto') precision = options.precision;
  else if (trained === 'bf16' || trained === 'tf32') precision = precisionSupport(device, trained).supported ? checkPrecision(where, trained) : 'fp32';
  const model = createModel(ck.config, { device, precision });
  const sgd = new SGD(model, { lr: 0 });
  const trainer = new Trainer(model, sgd, { progress: 'none' });
  const loader = new BatchLoader<Batch | ByteBatch>(test, { batchSize, shuffle: false, augment, seed: 0, bytes: device === 'cuda' });
  try {
    model.loadStateDict(ck.state);
    const r = await trainer.evaluate(loader, [test.height, test.width], { progress: options.progress ?? 'none', signal: options.signal });
    return { testLoss: r.loss, testAccuracy: r.accuracy, images: r.images, device, precision };
  } finally {
    await loader.close();
    trainer.dispose();
    sgd.dispose();
    model.dispose();
  }
}
