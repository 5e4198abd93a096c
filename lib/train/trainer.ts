/**
 * The training loop: per-epoch train loss and accuracy, validation loss and accuracy, test loss
 * and accuracy at the end (what the seed's Lightning module logs), with a progress display,
 * callbacks, metrics.jsonl and curves.svg in the run folder, checkpoints, exact resume, and
 * cancellation through an AbortSignal.
 *
 * The JavaScript thread never waits for arithmetic: a step's ops are queued on the device's
 * executor and the loop awaits the step's loss, so timers, servers and signals keep running.
 * The non-finite check is made on the device and the optimizer step consults it there, so a
 * step needs one read, at its end.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SenetError } from '../errors';
import { loadCheckpointAsync, saveCheckpointAsync, writeFileAtomicAsync, type TensorToWrite } from '../io';
import type { SEResNeXt, StateTensor, StatisticsSnapshot } from '../nn';
import * as ops from '../ops';
import type { SGD } from '../optim';
import { makeSchedule, type LrSchedule, type ScheduleSpec } from '../optim/schedules';
import { addTime, timed } from '../profile';
import { Slot } from '../slot';
import type { Tensor } from '../tensor';
import { checkInt, checkNumber, checkOneOf, checkOptions, describe, fail } from '../validate';
import { curvesSvg } from './curves';
import { makeProgress, type Progress, type ProgressMode } from './progress';

/** One batch as the data layer makes it: images (size, H, W, C) normalised, labels. */
export interface TrainBatch {
  images: Float32Array;
  labels: Int32Array;
  size: number;
  index: number;
}

/** Batches of a dataset, epoch by epoch (lib/data's BatchLoader). */
export interface BatchSource {
  readonly batchesPerEpoch: number;
  epoch(epoch: number, start?: number): AsyncIterableIterator<TrainBatch>;
}

/** What fit() trains and evaluates on. */
export interface FitData {
  train: BatchSource;
  val?: BatchSource;
  test?: BatchSource;
  /** Image height and width (channels come from the model). */
  imageSize: readonly [number, number];
  /** Epochs in total (a resumed run counts the ones already done). */
  epochs: number;
  /** Stop after this many optimizer steps in all (tests, benchmarks); default: no limit. */
  maxSteps?: number;
  /**
   * Cancels training: at the next step boundary the trainer writes a checkpoint of where it
   * stopped (when it has a run folder; resumable exactly) and fit rejects with an AbortError.
   */
  signal?: AbortSignal;
}

/** What fit() rejects with when its signal aborts it (Node's convention: name and code). */
export class AbortError extends Error {
  /** 'ABORT_ERR', as Node's own APIs. */
  readonly code = 'ABORT_ERR';
  /** The checkpoint written where training stopped, if the trainer has a run folder. */
  readonly checkpoint: string | undefined;
  /** Where training stopped: the epoch (from 1) and the next step to run in it (from 1). */
  readonly epoch: number;
  readonly step: number;

  constructor(message: string, options: { cause?: unknown; checkpoint?: string; epoch: number; step: number }) {
    super(message, { cause: options.cause });
    this.name = 'AbortError';
    this.checkpoint = options.checkpoint;
    this.epoch = options.epoch;
    this.step = options.step;
  }
}

/** Per-batch information given to onBatchEnd. */
export interface BatchInfo {
  epoch: number;
  step: number;
  globalStep: number;
  loss: number;
  correct: number;
  size: number;
  lr: number;
  skipped: boolean;
}

/** One epoch's metrics (also a line of metrics.jsonl). */
export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  lr: number;
  seconds: number;
  imagesPerSecond: number;
  skippedSteps: number;
}

/** What fit() returns. */
export interface FitResult {
  history: EpochMetrics[];
  testLoss?: number;
  testAccuracy?: number;
  /** Training images per second over the whole run (excluding evaluation). */
  imagesPerSecond: number;
  /** True when maxSteps stopped training before the last epoch ended. */
  stoppedEarly: boolean;
}

/** Options of the Trainer. */
export interface TrainerOptions {
  /** Learning-rate schedule; default: the optimizer's lr, constant. */
  schedule?: LrSchedule;
  /** Cross-entropy label smoothing; default 0. */
  labelSmoothing?: number;
  /** Run folder: metrics.jsonl, curves.svg, checkpoint.safetensors. None: nothing is written. */
  outDir?: string;
  /** 'auto' (a bar on a terminal, lines otherwise; the default), 'bar', 'lines' or 'none'. */
  progress?: ProgressMode;
  /** Where progress and summaries go; default process.stderr. */
  stream?: NodeJS.WriteStream;
  /** What a NaN or infinite loss does: 'error' (default) stops with SENET_NAN; 'skip' skips that step's update. */
  nonFinite?: 'error' | 'skip';
  /** Also checkpoint every this many steps (checkpoints are always written at each epoch's end when outDir is set). */
  checkpointEverySteps?: number;
  /** Called after every batch. */
  onBatchEnd?: (info: BatchInfo) => void;
  /** Called after every epoch, with its metrics. */
  onEpochEnd?: (metrics: EpochMetrics) => void;
  /** Extra JSON saved in checkpoints (dataset, flags …), returned by loadTrainingCheckpoint. */
  checkpointInfo?: Record<string, unknown>;
}

/** Where training stands; saved in checkpoints. */
export interface TrainingPosition {
  epoch: number;
  /** Next batch to run in `epoch`. */
  batch: number;
  globalStep: number;
  /** Sums over the batches already run in `epoch`. */
  partial: { loss: number; correct: number; images: number; seconds: number; skipped: number };
  history: EpochMetrics[];
}

interface CheckpointState {
  format: 'senet-training/1';
  config: SEResNeXt['config'];
  position: TrainingPosition;
  optimizer: { stepCount: number; lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean };
  schedule: ScheduleSpec | null;
  labelSmoothing: number;
  info: Record<string, unknown>;
}

const MOMENTUM_KEY = 'optimizer.momentum_buffer';

/** One step's results, read back from the device. */
interface StepOutcome {
  loss: number;
  correct: number;
  /** NaN / infinite values found in the loss and the batch-norm statistics (0: the step was taken). */
  nonFinite: number;
}

/** Trains a model with an optimizer. */
export class Trainer {
  private readonly schedule: LrSchedule;
  private readonly labelSmoothing: number;
  private readonly progress: Progress;
  private readonly nonFinite: 'error' | 'skip';
  private readonly checkpointEvery: number;
  private position: TrainingPosition = { epoch: 0, batch: 0, globalStep: 0, partial: zeroPartial(), history: [] };
  // Reused per batch shape: input, labels, loss, correct, non-finite count, d logits.
  private readonly x: Slot;
  private readonly y: Slot;
  private readonly loss: Slot;
  private readonly correct: Slot;
  private readonly badCount: Slot;
  private readonly dlogits: Slot;
  // Batch-norm statistics as they were before the step, put back when the step is not taken.
  private statistics: StatisticsSnapshot | undefined;

  constructor(
    readonly model: SEResNeXt,
    readonly optimizer: SGD,
    private readonly options: TrainerOptions = {},
  ) {
    const where = 'Trainer';
    const o = checkOptions(where, options);
    this.schedule = o.schedule ?? makeSchedule({ kind: 'constant', lr: optimizer.lr });
    this.labelSmoothing = checkNumber(where, 'labelSmoothing', o.labelSmoothing ?? 0, 0, 1);
    this.nonFinite = checkOneOf(where, 'nonFinite', o.nonFinite ?? 'error', ['error', 'skip'] as const);
    this.checkpointEvery = o.checkpointEverySteps === undefined ? 0 : checkInt(where, 'checkpointEverySteps', o.checkpointEverySteps, 1);
    this.progress = makeProgress(checkOneOf(where, 'progress', o.progress ?? 'auto', ['auto', 'bar', 'lines', 'none'] as const), o.stream);
    const device = model.device;
    this.x = new Slot(device);
    this.y = new Slot(device);
    this.loss = new Slot(device);
    this.correct = new Slot(device);
    this.badCount = new Slot(device);
    this.dlogits = new Slot(device);
    if (o.outDir) fs.mkdirSync(o.outDir, { recursive: true });
  }

  /** The checkpoint file in the run folder. */
  get checkpointPath(): string | undefined {
    return this.options.outDir ? path.join(this.options.outDir, 'checkpoint.safetensors') : undefined;
  }

  /** Where training stands. */
  get state(): Readonly<TrainingPosition> {
    return this.position;
  }

  private upload(batch: TrainBatch, imageSize: readonly [number, number]): { x: Tensor; y: Tensor } {
    const [h, w] = imageSize;
    const x = this.x.get([batch.size, h, w, this.model.config.inChannels]);
    const y = this.y.get([batch.size], 'int32');
    timed('data', 'upload', () => {
      x.set(batch.images.length === x.size ? batch.images : batch.images.subarray(0, x.size));
      y.set(batch.labels.length === batch.size ? batch.labels : batch.labels.subarray(0, batch.size));
    });
    return { x, y };
  }

  /**
   * Mean loss and accuracy of the model in eval mode over a whole source. Each batch's loss is
   * read while the next one is computed.
   */
  async evaluate(source: BatchSource, imageSize: readonly [number, number]): Promise<{ loss: number; accuracy: number; images: number }> {
    this.model.eval();
    let loss = 0, correct = 0, images = 0;
    const pending: Promise<void>[] = [];
    try {
      for await (const batch of source.epoch(0)) {
        const { x, y } = this.upload(batch, imageSize);
        const out = ops.crossEntropyForward(this.model.logits(x), y, { labelSmoothing: this.labelSmoothing }, { loss: this.loss.get([]), correct: this.correct.get([], 'int32') });
        const size = batch.size;
        // Reads are queued behind this batch's ops: the buffers reused by the next batch are read first.
        pending.push(
          Promise.all([out.loss.data(), out.correct.data()]).then(([l, c]) => {
            loss += (l as Float32Array)[0]! * size;
            correct += (c as Int32Array)[0]!;
            images += size;
          }),
        );
        if (pending.length > 1) await pending.shift();
      }
      await Promise.all(pending);
    } finally {
      this.model.train();
    }
    return { loss: images ? loss / images : NaN, accuracy: images ? correct / images : NaN, images };
  }

  /**
   * Queues one training step (upload, forward, loss, the non-finite check, backward, the
   * optimizer step that the check may cancel on the device) and awaits its results. A step
   * whose loss or batch-norm statistics are not finite leaves the weights, the momentum and the
   * statistics as they were.
   */
  private async trainStep(batch: TrainBatch, imageSize: readonly [number, number]): Promise<StepOutcome> {
    const { x, y } = this.upload(batch, imageSize);
    this.statistics = this.model.snapshotStatistics(this.statistics);
    const logits = this.model.logits(x);
    const lossOpts = { labelSmoothing: this.labelSmoothing };
    const out = ops.crossEntropyForward(logits, y, lossOpts, { loss: this.loss.get([]), correct: this.correct.get([], 'int32') });
    // A ReLU may turn a NaN into 0 before it reaches the loss, but batch norm's statistics keep
    // it: both are checked, on the device, and the optimizer step is skipped there.
    const bad = this.model.countNonFinite([out.loss], this.badCount.get([], 'int32'));
    // Queueing a step is a few milliseconds of JavaScript (more on the first, cold one): the loop
    // gets a turn between its halves while the executor runs the forward.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.model.backward(ops.crossEntropyBackward(logits, y, lossOpts, this.dlogits.get(logits.shape)));
    this.optimizer.step({ skipIf: bad });
    const [l, c, b] = await Promise.all([out.loss.data(), out.correct.data(), bad.data()]);
    const outcome = { loss: (l as Float32Array)[0]!, correct: (c as Int32Array)[0]!, nonFinite: (b as Int32Array)[0]! };
    if (outcome.nonFinite > 0) {
      this.model.restoreStatistics(this.statistics);
      this.optimizer.uncountStep();
    }
    return outcome;
  }

  // What a step with non-finite values does: an error naming it, or a skipped step.
  private applyNonFinitePolicy(r: StepOutcome, epoch: number, step: number): boolean {
    if (r.nonFinite === 0) return false;
    if (this.nonFinite === 'error') {
      this.progress.stop();
      const what = Number.isFinite(r.loss) ? `${r.nonFinite} batch-norm statistics are NaN or infinite` : `the loss is ${r.loss}`;
      throw new SenetError(
        'SENET_NAN',
        `training stopped: ${what} at epoch ${epoch + 1}, step ${step + 1} (global step ${this.position.globalStep + 1}); ` +
          "check the data for NaN or Inf, lower the learning rate, or pass nonFinite: 'skip' to skip such steps",
      );
    }
    return true;
  }

  private async abort(signal: AbortSignal, epochs: number): Promise<never> {
    this.progress.stop();
    const pos = this.position;
    const file = this.checkpointPath;
    if (file) await this.saveCheckpoint(file);
    const where = `epoch ${pos.epoch + 1}/${epochs} step ${pos.batch + 1}`;
    throw new AbortError(`training was aborted at ${where}${file ? `; the checkpoint ${file} resumes it` : ''}`, {
      cause: signal.reason,
      checkpoint: file,
      epoch: pos.epoch + 1,
      step: pos.batch + 1,
    });
  }

  // One epoch from where the position stands; false when maxSteps (or the source) ended it early.
  private async runEpoch(data: FitData, epochs: number, maxSteps: number, timing: { seconds: number; images: number }): Promise<boolean> {
    const pos = this.position;
    const epoch = pos.epoch;
    const perEpoch = data.train.batchesPerEpoch;
    this.progress.start(epoch, epochs, perEpoch, pos.batch);
    let last = performance.now();
    let waitFrom = last;
    for await (const batch of data.train.epoch(epoch, pos.batch)) {
      addTime('data', 'waitForBatch', performance.now() - waitFrom);
      if (data.signal?.aborted) await this.abort(data.signal, epochs);
      if (pos.globalStep >= maxSteps) break;
      const lr = this.schedule.lrAt(epoch + batch.index / perEpoch);
      this.optimizer.lr = lr;
      const r = await this.trainStep(batch, data.imageSize);
      const skipped = this.applyNonFinitePolicy(r, epoch, batch.index);
      if (!skipped) {
        pos.partial.loss += r.loss * batch.size;
        pos.partial.correct += r.correct;
        pos.partial.images += batch.size;
      } else {
        pos.partial.skipped += 1;
      }
      const now = performance.now();
      pos.partial.seconds += (now - last) / 1000;
      timing.seconds += (now - last) / 1000;
      timing.images += batch.size;
      last = now;
      pos.batch = batch.index + 1;
      pos.globalStep += 1;
      this.progress.update({
        epoch,
        epochs,
        step: pos.batch,
        steps: perEpoch,
        loss: pos.partial.images ? pos.partial.loss / pos.partial.images : NaN,
        accuracy: pos.partial.images ? pos.partial.correct / pos.partial.images : NaN,
        imagesPerSecond: pos.partial.seconds > 0 ? pos.partial.images / pos.partial.seconds : 0,
      });
      this.options.onBatchEnd?.({ epoch, step: batch.index, globalStep: pos.globalStep, loss: r.loss, correct: r.correct, size: batch.size, lr, skipped });
      if (this.checkpointEvery && pos.globalStep % this.checkpointEvery === 0 && pos.batch < perEpoch) {
        await this.saveCheckpoint();
        last = performance.now();
      }
      waitFrom = performance.now();
    }
    this.progress.stop();
    if (data.signal?.aborted) await this.abort(data.signal, epochs);
    return pos.batch >= perEpoch;
  }

  /**
   * Trains for data.epochs epochs (from where a restored checkpoint stopped), then tests. With
   * data.signal, an abort stops at the next step boundary and rejects with an AbortError after
   * checkpointing.
   */
  async fit(data: FitData): Promise<FitResult> {
    const where = 'Trainer.fit';
    const epochs = checkInt(where, 'epochs', data.epochs, 1);
    const maxSteps = data.maxSteps === undefined ? Infinity : checkInt(where, 'maxSteps', data.maxSteps, 1);
    if (data.signal !== undefined && !(data.signal instanceof AbortSignal)) fail('SENET_ARGUMENT', where, 'signal', 'an AbortSignal', describe(data.signal));
    const pos = this.position;
    const runStart = Date.now();
    const timing = { seconds: 0, images: 0 };
    let stoppedEarly = false;
    this.model.train();

    while (pos.epoch < epochs) {
      if (!(await this.runEpoch(data, epochs, maxSteps, timing))) {
        stoppedEarly = true;
        break;
      }
      const p = pos.partial;
      const metrics: EpochMetrics = {
        epoch: pos.epoch + 1,
        trainLoss: p.images ? p.loss / p.images : NaN,
        trainAccuracy: p.images ? p.correct / p.images : NaN,
        lr: this.optimizer.lr,
        seconds: p.seconds,
        imagesPerSecond: p.seconds > 0 ? p.images / p.seconds : 0,
        skippedSteps: p.skipped,
      };
      if (data.val) {
        const v = await this.evaluate(data.val, data.imageSize);
        metrics.valLoss = v.loss;
        metrics.valAccuracy = v.accuracy;
      }
      pos.history.push(metrics);
      pos.epoch += 1;
      pos.batch = 0;
      pos.partial = zeroPartial();
      this.progress.line(summary(metrics, epochs));
      // The checkpoint first: metrics.jsonl lists an epoch only once it is safely saved.
      await this.saveCheckpoint();
      await this.writeRunFiles(metrics);
      this.options.onEpochEnd?.(metrics);
    }

    const result: FitResult = {
      history: pos.history,
      imagesPerSecond: timing.seconds > 0 ? timing.images / timing.seconds : 0,
      stoppedEarly,
    };
    if (data.test && !stoppedEarly) {
      const r = await this.evaluate(data.test, data.imageSize);
      result.testLoss = r.loss;
      result.testAccuracy = r.accuracy;
      this.progress.line(`test: loss ${r.loss.toFixed(4)}  accuracy ${(r.accuracy * 100).toFixed(2)}%  (${r.images} images, ${((Date.now() - runStart) / 1000).toFixed(0)} s in all)`);
      await this.appendMetrics({ type: 'test', testLoss: r.loss, testAccuracy: r.accuracy, images: r.images });
    }
    return result;
  }

  private async appendMetrics(record: Record<string, unknown>): Promise<void> {
    if (!this.options.outDir) return;
    await fs.promises.appendFile(path.join(this.options.outDir, 'metrics.jsonl'), `${JSON.stringify(record)}\n`);
  }

  private async writeRunFiles(m: EpochMetrics): Promise<void> {
    if (!this.options.outDir) return;
    await this.appendMetrics({ type: 'epoch', ...m });
    await writeFileAtomicAsync(path.join(this.options.outDir, 'curves.svg'), Buffer.from(curvesSvg(this.position.history, 'SE-ResNeXt training')));
  }

  /** Writes the checkpoint (the run folder's by default) atomically, without blocking the loop. */
  async saveCheckpoint(file = this.checkpointPath): Promise<void> {
    if (!file) return;
    // What the checkpoint records is taken now; the weights are read after the work queued so far.
    const position = structuredClone(this.position);
    const o = this.optimizer;
    const [weights, opt] = await Promise.all([this.model.readStateDict(), o.readState()]);
    const tensors: Record<string, TensorToWrite> = {};
    for (const [name, t] of weights) tensors[`model.${name}`] = toWrite(t);
    if (opt.momentumBuffer) tensors[MOMENTUM_KEY] = { dtype: 'F32', shape: [opt.momentumBuffer.length], data: opt.momentumBuffer };
    const state: CheckpointState = {
      format: 'senet-training/1',
      config: this.model.config,
      position,
      optimizer: { stepCount: opt.stepCount, lr: opt.lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weightDecay, nesterov: o.nesterov },
      schedule: this.schedule.spec,
      labelSmoothing: this.labelSmoothing,
      info: this.options.checkpointInfo ?? {},
    };
    await saveCheckpointAsync(file, tensors, state);
  }

  /** Restores model weights, optimizer state and the training position from a checkpoint. */
  async restore(file: string): Promise<Record<string, unknown>> {
    const ck = await loadTrainingCheckpoint(file);
    this.model.loadStateDict(ck.state);
    this.optimizer.loadState({ stepCount: ck.optimizer.stepCount, lr: ck.optimizer.lr, momentumBuffer: ck.momentumBuffer });
    this.position = structuredClone(ck.position);
    return ck.info;
  }

  /** Frees the trainer's buffers (not the model or optimizer). */
  dispose(): void {
    for (const s of [this.x, this.y, this.loss, this.correct, this.badCount, this.dlogits]) s.dispose();
    this.statistics?.values.dispose();
    this.statistics = undefined;
  }

  /** `using trainer = new Trainer(…)` frees its buffers at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** A training checkpoint, read back. */
export interface TrainingCheckpoint {
  config: SEResNeXt['config'];
  state: Map<string, StateTensor>;
  momentumBuffer: Float32Array | null;
  position: TrainingPosition;
  optimizer: CheckpointState['optimizer'];
  schedule: ScheduleSpec | null;
  labelSmoothing: number;
  info: Record<string, unknown>;
}

/** Reads a checkpoint written by a Trainer (without blocking the loop). */
export async function loadTrainingCheckpoint(file: string): Promise<TrainingCheckpoint> {
  const ck = await loadCheckpointAsync<CheckpointState>(file);
  const s = ck.state;
  if (!s || s.format !== 'senet-training/1') throw new SenetError('SENET_FORMAT', `${file}: not a senet training checkpoint`);
  const state = new Map<string, StateTensor>();
  let momentumBuffer: Float32Array | null = null;
  for (const [name, t] of ck.tensors) {
    const data = t.dtype === 'I64' ? new BigInt64Array(t.data.slice().buffer) : new Float32Array(t.data.slice().buffer);
    if (name === MOMENTUM_KEY) momentumBuffer = data as Float32Array;
    else if (name.startsWith('model.')) state.set(name.slice(6), { shape: t.shape, data });
  }
  return { config: s.config, state, momentumBuffer, position: s.position, optimizer: s.optimizer, schedule: s.schedule, labelSmoothing: s.labelSmoothing, info: s.info };
}

function toWrite(t: StateTensor): TensorToWrite {
  return { dtype: t.data instanceof BigInt64Array ? 'I64' : 'F32', shape: t.shape, data: t.data };
}

function zeroPartial(): TrainingPosition['partial'] {
  return { loss: 0, correct: 0, images: 0, seconds: 0, skipped: 0 };
}

function summary(m: EpochMetrics, epochs: number): string {
  const val = m.valLoss !== undefined ? `  val loss ${m.valLoss.toFixed(4)} acc ${((m.valAccuracy ?? NaN) * 100).toFixed(2)}%` : '';
  return `epoch ${m.epoch}/${epochs}: train loss ${m.trainLoss.toFixed(4)} acc ${(m.trainAccuracy * 100).toFixed(2)}%${val}  ${m.imagesPerSecond.toFixed(0)} img/s  ${m.seconds.toFixed(0)} s`;
}
