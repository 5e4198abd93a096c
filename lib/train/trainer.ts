/**
 * The training loop: per-epoch train loss and accuracy, validation loss and accuracy, test loss
 * and accuracy at the end (what the seed's Lightning module logs), with a progress display,
 * callbacks, metrics.jsonl and curves.svg in the run folder, checkpoints, exact resume, and
 * cancellation through an AbortSignal.
 *
 * The JavaScript thread never waits for arithmetic: a step's ops are queued on the device's
 * executor and the loop awaits the step's loss, so timers, servers and signals keep running.
 * The device does not wait for the JavaScript either: step k+1 is queued before step k's loss is
 * read. The non-finite check is made on the device, which puts the batch-norm statistics back
 * and skips the optimizer step there, so the host learns of it a step late without harm.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SenetError } from '../errors';
import { saveCheckpointAsync, systemMessage, writeFileAtomicAsync } from '../io';
import type { SEResNeXt, StatisticsSnapshot } from '../nn';
import * as ops from '../ops';
import type { SGD } from '../optim';
import { makeSchedule, type LrSchedule } from '../optim/schedules';
import { addTime, timed } from '../profile';
import { Slot } from '../slot';
import type { Tensor } from '../tensor';
import { checkBool, checkInt, checkNumber, checkOneOf, checkOptions, checkSignal, describe, fail } from '../validate';
import { checkpointTensors, loadTrainingCheckpoint, stateForJson, TRAINING_FORMAT, type CheckpointState, type TrainingCheckpoint } from './checkpoint_file';

export { loadTrainingCheckpoint, type TrainingCheckpoint } from './checkpoint_file';
import { curvesSvg } from './curves';
import { DivergenceWatch } from './divergence';
import { makeProgress, PROGRESS_MODES, type Progress, type ProgressMode } from './progress';
import { RunFolder } from './run_folder';

/** One batch as the data layer makes it: images (size, H, W, C) normalised, labels. */
export interface TrainBatch {
  /** (size, height, width, channels): normalised floats, or bytes normalised on the device through `normalize`. */
  images: Float32Array | Uint8Array;
  labels: Int32Array;
  size: number;
  index: number;
  /** For bytes: (channels, 256) float32, the input for byte b of channel c at c * 256 + b (a ByteBatch's). */
  normalize?: Float32Array;
}

/** Batches of a dataset, epoch by epoch (lib/data's BatchLoader). */
export interface BatchSource {
  readonly batchesPerEpoch: number;
  /** (height, width, channels) of its images, when known: checked against the model before training. */
  readonly imageShape?: readonly [number, number, number];
  /** The fewest images one of its batches holds, when known: a batch of one cannot train batch norm. */
  readonly smallestBatch?: number;
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
   * Cancels training: at the next step boundary (the step already queued on the device, see
   * overlapSteps, is finished and counted) the trainer writes a checkpoint of where it stopped
   * (when it has a run folder; resumable exactly) and fit rejects with an AbortError.
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

/** How Trainer.evaluate reports and stops. */
export interface EvaluateOptions {
  /** Progress over the batches: 'auto' | 'bar' | 'lines' | 'none' (default 'none'). */
  progress?: ProgressMode;
  /** Stops at the next batch; evaluate then rejects with an AbortError. */
  signal?: AbortSignal;
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
  /** Warnings printed while training (a loss that climbed far above its start). */
  warnings: string[];
}

/** Options of the Trainer. */
export interface TrainerOptions {
  /** Learning-rate schedule; default: the optimizer's lr, constant. */
  schedule?: LrSchedule;
  /** Cross-entropy label smoothing; default 0. */
  labelSmoothing?: number;
  /**
   * Run folder: metrics.jsonl, curves.svg, checkpoint.safetensors. None: nothing is written. A
   * path is created and locked (`.senet.lock`: another writer is refused with SENET_IO) until
   * dispose(); a RunFolder already opened is used as it is. fit() rewrites metrics.jsonl to hold
   * the epochs the trainer has done (none, or those of the checkpoint it restored).
   */
  outDir?: string | RunFolder;
  /** 'auto' (a bar on a terminal, lines otherwise; the default), 'bar', 'lines' or 'none'. */
  progress?: ProgressMode;
  /** Where progress and summaries go; default process.stderr. */
  stream?: NodeJS.WriteStream;
  /** What a NaN or infinite loss does: 'error' (default) stops with SENET_NAN; 'skip' skips that step's update. */
  nonFinite?: 'error' | 'skip';
  /** Also checkpoint every this many steps (checkpoints are always written at each epoch's end when outDir is set). */
  checkpointEverySteps?: number;
  /**
   * Queue each step before reading the results of the one before (default true), so that the
   * device never waits for the JavaScript between steps. The results are the same bit for bit
   * either way. With overlap, onBatchEnd for a step runs while the next step is already queued:
   * pass false when a callback must see the model exactly as that step left it (a checkpoint it
   * asks for is written after the queued step; see saveCheckpoint).
   */
  overlapSteps?: boolean;
  /** Called after every batch (see overlapSteps for when). */
  onBatchEnd?: (info: BatchInfo) => void;
  /** Called after every epoch, with its metrics. */
  onEpochEnd?: (metrics: EpochMetrics) => void;
  /** Extra JSON saved in checkpoints (dataset, flags …), returned by loadTrainingCheckpoint. */
  checkpointInfo?: Record<string, unknown>;
  /** Where warnings go (a loss that climbs far above its start); default: a line on `stream`, whatever `progress` is. */
  onWarning?: (message: string) => void;
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


/** What one fit() call watches for warnings. */
interface RunWatch {
  divergence: DivergenceWatch;
  warnings: string[];
}

/** One step's results, read back from the device. */
interface StepOutcome {
  loss: number;
  correct: number;
  /** NaN / infinite values found in the loss and the batch-norm statistics (0: the step was taken). */
  nonFinite: number;
}

/** What taking in a step's results updates: one epoch's run. */
interface EpochRun {
  epochs: number;
  perEpoch: number;
  watch: RunWatch;
  timing: { seconds: number; images: number };
  /** When the step before was taken in (performance.now()). */
  last: number;
}

/** A step queued on the device whose results the host has not taken in yet. */
interface QueuedStep {
  batch: TrainBatch;
  epoch: number;
  lr: number;
  /** The step sets the momentum buffer: whether it was taken decides what the next step does. */
  setsBuffer: boolean;
  /** Queues the read of the step's results (once; later calls return the same promise). */
  read: () => Promise<StepOutcome>;
}

/** Trains a model with an optimizer. */
export class Trainer {
  private readonly schedule: LrSchedule;
  private readonly labelSmoothing: number;
  private readonly progress: Progress;
  private readonly stream: NodeJS.WriteStream;
  private readonly nonFinite: 'error' | 'skip';
  private readonly checkpointEvery: number;
  private readonly warn: (message: string) => void;
  // The run folder, and whether this trainer opened it (and so releases it).
  private readonly folder: RunFolder | undefined;
  private readonly ownsFolder: boolean;
  // The checkpoint restore() read, named when its position does not fit the data.
  private restoredFrom: string | undefined;
  private position: TrainingPosition = { epoch: 0, batch: 0, globalStep: 0, partial: zeroPartial(), history: [] };
  // Reused per batch shape: input, labels, loss, correct, non-finite count, d logits.
  private readonly x: Slot;
  private readonly y: Slot;
  // A byte batch (N, H, W, C) and its normalisation table (C, 256), as last uploaded.
  private readonly bytes: Slot;
  private readonly table: Slot;
  private tableValues: Float32Array | undefined;
  private lastTable: Tensor | undefined;
  private readonly loss: Slot;
  private readonly correct: Slot;
  private readonly badCount: Slot;
  private readonly overlap: boolean;
  // Steps queued whose results are not taken in yet, oldest first (at most two).
  private readonly inFlight: QueuedStep[] = [];
  // saveCheckpoint calls that wait for the queued steps (see saveCheckpoint).
  private readonly saveRequests: { file: string; resolve: () => void; reject: (err: unknown) => void }[] = [];
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
    this.overlap = checkBool(where, 'overlapSteps', o.overlapSteps ?? true);
    this.stream = o.stream ?? process.stderr;
    this.progress = makeProgress(checkOneOf(where, 'progress', o.progress ?? 'auto', PROGRESS_MODES), this.stream);
    if (o.onWarning !== undefined && typeof o.onWarning !== 'function') fail('SENET_ARGUMENT', where, 'onWarning', 'a function', describe(o.onWarning));
    const stream = this.stream;
    this.warn = o.onWarning ?? ((message) => {
      this.progress.stop();
      stream.write(`${message}\n`);
    });
    if (o.outDir instanceof RunFolder) {
      this.folder = o.outDir;
      this.ownsFolder = false;
    } else {
      this.folder = o.outDir === undefined ? undefined : RunFolder.open(o.outDir, `${where}: outDir`);
      this.ownsFolder = this.folder !== undefined;
    }
    const device = model.device;
    this.x = new Slot(device);
    this.y = new Slot(device);
    this.loss = new Slot(device);
    this.bytes = new Slot(device);
    this.table = new Slot(device);
    this.correct = new Slot(device);
    this.badCount = new Slot(device);
    this.dlogits = new Slot(device);
  }

  /** The run folder, if the trainer has one. */
  get outDir(): string | undefined {
    return this.folder?.dir;
  }

  /** The checkpoint file in the run folder. */
  get checkpointPath(): string | undefined {
    return this.folder ? path.join(this.folder.dir, 'checkpoint.safetensors') : undefined;
  }

  /** Where training stands. */
  get state(): Readonly<TrainingPosition> {
    return this.position;
  }

  private upload(batch: TrainBatch, imageSize: readonly [number, number], epoch: number): { x: Tensor; y: Tensor } {
    const [h, w] = imageSize;
    const c = this.model.config.inChannels;
    // Exactly one batch of images of this size: a longer array (images of another size, a
    // mislabelled source) must not be cut to fit and trained on as if it were right.
    const where = `Trainer: epoch ${epoch + 1}, batch ${batch.index + 1}`;
    if (batch === null || typeof batch !== 'object') fail('SENET_ARGUMENT', where, 'batch', 'an object', describe(batch));
    checkInt(where, 'batch.size', batch.size, 1);
    const isBytes = batch.images instanceof Uint8Array;
    if (!(batch.images instanceof Float32Array || isBytes) || batch.images.length !== batch.size * h * w * c) {
      fail('SENET_SHAPE', where, 'batch.images', `a Float32Array of ${batch.size}x${h}x${w}x${c} = ${batch.size * h * w * c} values (the model's channels, imageSize ${h}x${w}; or bytes, a Uint8Array with batch.normalize)`, ArrayBuffer.isView(batch.images) ? `${batch.images.length} values` : describe(batch.images));
    }
    if (isBytes && !(batch.normalize instanceof Float32Array && batch.normalize.length === c * 256)) {
      fail('SENET_ARGUMENT', where, 'batch.normalize', `a Float32Array of ${c}x256 values (the table that normalises a batch of bytes)`, describe(batch.normalize));
    }
    if (!(batch.labels instanceof Int32Array) || batch.labels.length !== batch.size) {
      fail('SENET_SHAPE', where, 'batch.labels', `an Int32Array of ${batch.size} labels`, batch.labels instanceof Int32Array ? `${batch.labels.length} labels` : describe(batch.labels));
    }
    const x = this.x.get([batch.size, h, w, c]);
    const y = this.y.get([batch.size], 'int32');
    timed('data', 'upload', () => {
      if (batch.images instanceof Uint8Array) {
        // A quarter of the bytes to copy; the device makes the same floats the loader would have.
        const bytes = this.bytes.get(x.shape, 'uint8');
        bytes.set(batch.images);
        // The table goes up when it changes (a loader's is the same for every batch).
        const table = this.table.get([c, 256]);
        const values = batch.normalize!;
        if (table !== this.lastTable || !this.tableValues || values.some((v, i) => !Object.is(v, this.tableValues![i]))) {
          table.set(values);
          this.tableValues = values.slice();
          this.lastTable = table;
        }
        ops.normalizeBytes(bytes, table, x);
      } else {
        x.set(batch.images);
      }
      y.set(batch.labels);
    });
    return { x, y };
  }

  /**
   * Mean loss and accuracy of the model in eval mode over a whole source. Each batch's loss is
   * read while the next one is computed. `options.progress` shows the batches done (default
   * 'none'; fit's own evaluations show none); `options.signal` stops at the next batch and
   * rejects with an AbortError whose `step` is that batch (from 1).
   */
  async evaluate(source: BatchSource, imageSize: readonly [number, number], options: EvaluateOptions = {}): Promise<{ loss: number; accuracy: number; images: number }> {
    const where = 'Trainer.evaluate';
    checkOptions(where, options);
    const mode = checkOneOf(where, 'progress', options.progress ?? 'none', PROGRESS_MODES);
    checkSignal(where, options.signal);
    const progress = mode === 'none' ? undefined : makeProgress(mode, this.stream);
    this.model.eval();
    let loss = 0, correct = 0, images = 0, batches = 0, done = 0;
    const started = performance.now();
    const pending: Promise<void>[] = [];
    try {
      progress?.start(0, 1, source.batchesPerEpoch, 0, 'eval');
      for await (const batch of source.epoch(0)) {
        if (options.signal?.aborted) {
          await Promise.all(pending);
          throw new AbortError(`evaluation was aborted at batch ${batches + 1}`, { cause: options.signal.reason, epoch: 1, step: batches + 1 });
        }
        const { x, y } = this.upload(batch, imageSize, 0);
        const out = ops.crossEntropyForward(this.model.logits(x), y, { labelSmoothing: this.labelSmoothing }, { loss: this.loss.get([]), correct: this.correct.get([], 'int32') });
        const size = batch.size;
        batches += 1;
        // Reads are queued behind this batch's ops: the buffers reused by the next batch are read first.
        pending.push(
          Promise.all([out.loss.data(), out.correct.data()]).then(([l, c]) => {
            loss += (l as Float32Array)[0]! * size;
            correct += (c as Int32Array)[0]!;
            images += size;
            done += 1;
            progress?.update({
              epoch: 0, epochs: 1, step: Math.min(done, source.batchesPerEpoch), steps: source.batchesPerEpoch,
              loss: loss / images, accuracy: correct / images, imagesPerSecond: images / ((performance.now() - started) / 1000),
            });
          }),
        );
        if (pending.length > 1) await pending.shift();
      }
      await Promise.all(pending);
    } finally {
      progress?.stop();
      this.model.train();
    }
    // A mean over nothing is NaN: an empty test set must not read as a result.
    if (images === 0) fail('SENET_ARGUMENT', 'Trainer.evaluate', 'source', 'at least one image', 'a source of no batches (an empty dataset?)');
    return { loss: loss / images, accuracy: correct / images, images };
  }

  /**
   * Queues one training step (upload, forward, loss, the non-finite check, backward, the
   * optimizer step that the check may cancel on the device); it does not wait for them. The
   * reads of the steps before are queued behind this one's upload: a GPU's executor thread then
   * copies the next batch while the device still computes, before a read makes it wait. A step whose loss or batch-norm statistics are not finite leaves the
   * weights, the momentum and the statistics as they were, on the device, before the host knows.
   * Under nonFinite 'error' the count accumulates, so that such a step also cancels the steps
   * queued behind it: the model stays as it was before the step that failed.
   */
  private async queueStep(batch: TrainBatch, imageSize: readonly [number, number], epoch: number, lr: number): Promise<QueuedStep> {
    this.optimizer.lr = lr;
    const { x, y } = this.upload(batch, imageSize, epoch);
    for (const step of this.inFlight) void step.read();
    this.statistics = this.model.snapshotStatistics(this.statistics);
    const logits = this.model.logits(x);
    const lossOpts = { labelSmoothing: this.labelSmoothing };
    const out = ops.crossEntropyForward(logits, y, lossOpts, { loss: this.loss.get([]), correct: this.correct.get([], 'int32') });
    // A ReLU may turn a NaN into 0 before it reaches the loss, but batch norm's statistics keep
    // it: both are checked, on the device, where the statistics are put back and the optimizer
    // step is skipped.
    const bad = this.model.countNonFinite([out.loss], this.badCount.get([], 'int32'), { accumulate: this.nonFinite === 'error' });
    this.model.restoreStatistics(this.statistics, { onlyIf: bad });
    // Queueing a step is a few milliseconds of JavaScript (more on the first, cold one): the loop
    // gets a turn between its halves while the executor runs the forward.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.model.backward(ops.crossEntropyBackward(logits, y, lossOpts, this.dlogits.get(logits.shape)));
    this.optimizer.step({ skipIf: bad });
    // Queued by the next step's upload or when the step is taken in, whichever comes first: in
    // any case before the next step's ops write the same buffers.
    let results: Promise<StepOutcome> | undefined;
    const read = (): Promise<StepOutcome> => {
      if (!results) {
        results = Promise.all([out.loss.data(), out.correct.data(), bad.data()]).then(([l, c, b]) => ({
          loss: (l as Float32Array)[0]!,
          correct: (c as Int32Array)[0]!,
          nonFinite: (b as Int32Array)[0]!,
        }));
        // Handled when the step is taken in; a rejection before then is not unhandled.
        results.catch(() => undefined);
      }
      return results;
    };
    return { batch, epoch, lr, setsBuffer: this.optimizer.lastStepSetBuffer, read };
  }

  /** A queued step's results; a step the device skipped is taken off the host's counts. */
  private async outcome(step: QueuedStep): Promise<StepOutcome> {
    const r = await step.read();
    if (r.nonFinite > 0) {
      this.model.uncountBatch();
      this.optimizer.uncountStep();
    }
    return r;
  }

  // What a step with non-finite values does: an error naming it and its likely cause, or a skipped step.
  private async applyNonFinitePolicy(r: StepOutcome, batch: TrainBatch, epoch: number, lr: number): Promise<boolean> {
    if (r.nonFinite === 0) return false;
    if (this.nonFinite === 'skip') return true;
    this.progress.stop();
    const what = Number.isFinite(r.loss) ? `${r.nonFinite} batch-norm statistics are NaN or infinite` : `the loss is ${r.loss}`;
    throw new SenetError(
      'SENET_NAN',
      `training stopped: ${what} at epoch ${epoch + 1}, step ${batch.index + 1} (global step ${this.position.globalStep + 1}): ` +
        `${await this.nonFiniteCause(batch, lr)}; or pass nonFinite: 'skip' to skip such steps`,
    );
  }

  /**
   * Where a non-finite step most likely came from, checked in order: the batch's images, the
   * weights and the momentum as they stand (the step was not taken, so they are what it started
   * from: a checkpoint or loadStateDict), and otherwise the learning rate.
   */
  private async nonFiniteCause(batch: TrainBatch, lr: number): Promise<string> {
    let inputs = 0;
    for (const v of batch.images) if (!Number.isFinite(v)) inputs++;
    if (inputs > 0) return `the batch's images hold ${inputs} NaN or infinite value(s): check the data`;
    const bad: string[] = [];
    for (const [name, t] of await this.model.readStateDict()) {
      if (t.data instanceof Float32Array && t.data.some((v) => !Number.isFinite(v))) bad.push(name);
    }
    const momentum = (await this.optimizer.readState()).momentumBuffer;
    if (momentum?.some((v) => !Number.isFinite(v))) bad.push("the optimizer's momentum buffer");
    if (bad.length > 0) {
      const from = this.restoredFrom ? ` (restored from ${this.restoredFrom})` : '';
      return `the model's state${from} already holds NaN or infinite values in ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ` and ${bad.length - 5} more` : ''}`;
    }
    return `the weights and data are finite, so the step diverged: lower the learning rate (${lr.toPrecision(3)} at this step) or lengthen the warmup`;
  }

  private async abort(signal: AbortSignal, epochs: number, perEpoch: number): Promise<never> {
    this.progress.stop();
    const pos = this.position;
    const file = this.checkpointPath;
    if (file) await this.saveCheckpoint(file);
    // Its last step run (the one queued when the signal came was run too): nothing left but the end of the epoch.
    const where = pos.batch >= perEpoch ? `the end of epoch ${pos.epoch + 1}/${epochs}` : `epoch ${pos.epoch + 1}/${epochs} step ${pos.batch + 1}`;
    throw new AbortError(`training was aborted at ${where}${file ? `; the checkpoint ${file} resumes it` : ''}`, {
      cause: signal.reason,
      checkpoint: file,
      epoch: pos.epoch + 1,
      step: pos.batch + 1,
    });
  }

  // One epoch from where the position stands; false when maxSteps (or the source) ended it early.
  // Step k+1 is queued before step k's results are taken in, so the device is never idle while
  // the JavaScript fetches a batch, updates the progress or runs the callbacks.
  private async runEpoch(data: FitData, epochs: number, maxSteps: number, timing: { seconds: number; images: number }, watch: RunWatch): Promise<boolean> {
    const pos = this.position;
    const epoch = pos.epoch;
    const perEpoch = data.train.batchesPerEpoch;
    const run: EpochRun = { epochs, perEpoch, watch, timing, last: performance.now() };
    this.progress.start(epoch, epochs, perEpoch, pos.batch);
    try {
      let waitFrom = performance.now();
      for await (const batch of data.train.epoch(epoch, pos.batch)) {
        addTime('data', 'waitForBatch', performance.now() - waitFrom);
        if (data.signal?.aborted) {
          await this.takeInAll(run);
          await this.abort(data.signal, epochs, perEpoch);
        }
        if (pos.globalStep + this.inFlight.length >= maxSteps) break;
        const step = await this.queueStep(batch, data.imageSize, epoch, this.schedule.lrAt(epoch + batch.index / perEpoch));
        this.inFlight.push(step);
        // The step before this one is taken in while this one runs. This one is taken in at once
        // when the next must know its outcome (it sets the momentum buffer) or a checkpoint
        // follows it (the checkpoint must not hold the next step).
        const checkpointAfter = this.checkpointEvery > 0 && (pos.globalStep + this.inFlight.length) % this.checkpointEvery === 0 && batch.index + 1 < perEpoch;
        const keep = this.overlap && !step.setsBuffer && !checkpointAfter ? 1 : 0;
        while (this.inFlight.length > keep) await this.takeIn(run);
        waitFrom = performance.now();
      }
      await this.takeInAll(run);
    } finally {
      // An error (a non-finite step under 'error', a callback that threw, the data source) leaves
      // no step unaccounted for: what is still queued is taken in without callbacks.
      await this.takeInQuietly(run);
    }
    this.progress.stop();
    if (data.signal?.aborted) await this.abort(data.signal, epochs, perEpoch);
    return pos.batch >= perEpoch;
  }

  // Takes in every queued step, oldest first.
  private async takeInAll(run: EpochRun): Promise<void> {
    while (this.inFlight.length > 0) await this.takeIn(run);
  }

  // Takes in the queued steps of a loop that stops with an error: their counts, without the
  // policy, the callbacks or checkpoints; then the checkpoints asked for meanwhile.
  private async takeInQuietly(run: EpochRun): Promise<void> {
    while (this.inFlight.length > 0) {
      const step = this.inFlight.shift()!;
      let r: StepOutcome;
      try {
        r = await this.outcome(step);
      } catch {
        continue; // the error that stopped the loop is the one to report; a device error stays pending
      }
      // Under 'error' a non-finite step (and every one queued behind it) was undone on the
      // device: the position stays before it, as when the error is thrown.
      if (r.nonFinite > 0 && this.nonFinite === 'error') continue;
      this.account(step, r, r.nonFinite > 0, run);
    }
    await this.serveSaves(run).catch(() => undefined);
  }

  // Takes in the oldest queued step: its non-finite policy, the sums, progress, callbacks and
  // the checkpoint every N steps.
  private async takeIn(run: EpochRun): Promise<void> {
    const { epochs, perEpoch, watch } = run;
    const pos = this.position;
    const step = this.inFlight.shift()!;
    const { batch, epoch, lr } = step;
    const r = await this.outcome(step);
    const skipped = await this.applyNonFinitePolicy(r, batch, epoch, lr);
    const warning = watch.divergence.observe(r.loss, { epoch, step: batch.index, steps: perEpoch, lr });
    if (warning) {
      watch.warnings.push(warning);
      this.warn(warning);
    }
    this.account(step, r, skipped, run);
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
    await this.serveSaves(run);
    if (this.checkpointEvery && pos.globalStep % this.checkpointEvery === 0 && pos.batch < perEpoch) {
      await this.saveCheckpoint();
      run.last = performance.now();
    }
  }

  // A step's share of the epoch's sums and the position.
  private account(step: QueuedStep, r: StepOutcome, skipped: boolean, run: EpochRun): void {
    const pos = this.position;
    if (!skipped) {
      pos.partial.loss += r.loss * step.batch.size;
      pos.partial.correct += r.correct;
      pos.partial.images += step.batch.size;
    } else {
      pos.partial.skipped += 1;
    }
    const now = performance.now();
    pos.partial.seconds += (now - run.last) / 1000;
    run.timing.seconds += (now - run.last) / 1000;
    run.timing.images += step.batch.size;
    run.last = now;
    pos.batch = step.batch.index + 1;
    pos.globalStep += 1;
  }

  // Checkpoints asked for (saveCheckpoint) while a step was queued behind the one taken in: the
  // queued steps are taken in first, so that the file's position, weights and step count agree.
  private async serveSaves(run: EpochRun): Promise<void> {
    if (this.saveRequests.length === 0) return;
    if (this.inFlight.length > 0) await this.takeInAll(run);
    for (const request of this.saveRequests.splice(0)) {
      await this.writeCheckpoint(request.file).then(request.resolve, request.reject);
    }
    run.last = performance.now();
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
    checkSignal(where, data.signal);
    this.checkData(where, data);
    const pos = this.position;
    const runStart = Date.now();
    const timing = { seconds: 0, images: 0 };
    const watch: RunWatch = { divergence: new DivergenceWatch(), warnings: [] };
    let stoppedEarly = false;
    // The run folder describes this trainer's run: the epochs it has done, nothing older.
    await this.rewriteMetrics();
    this.model.train();
    // Under nonFinite 'error' the device's count only grows: a step that failed in an earlier
    // fit() must not cancel this one's.
    this.badCount.get([], 'int32').set(Int32Array.of(0));

    while (pos.epoch < epochs) {
      if (!(await this.runEpoch(data, epochs, maxSteps, timing, watch))) {
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
      const warning = watch.divergence.observeEpoch(metrics.trainLoss, pos.epoch, metrics.lr);
      if (warning) {
        watch.warnings.push(warning);
        this.warn(warning);
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
      warnings: watch.warnings,
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

  /**
   * Everything fit() can find wrong with its data before the first step, rather than after an
   * epoch: no batches, a batch of one image (batch norm cannot train on it), images of a size or
   * channel count the model does not take, a restored position past the end of an epoch.
   */
  private checkData(where: string, data: FitData): void {
    const size = data.imageSize;
    if (!Array.isArray(size) || size.length !== 2) fail('SENET_ARGUMENT', where, 'imageSize', '[height, width]', describe(size));
    const [h, w] = [checkInt(where, 'imageSize[0]', size[0], 1), checkInt(where, 'imageSize[1]', size[1], 1)];
    const c = this.model.config.inChannels;
    for (const [name, source] of [['train', data.train], ['val', data.val], ['test', data.test]] as const) {
      if (source === undefined && name !== 'train') continue;
      if (source === null || typeof source !== 'object' || typeof source.epoch !== 'function') fail('SENET_ARGUMENT', where, name, 'a BatchSource (a BatchLoader)', describe(source));
      const shape = source.imageShape;
      if (shape !== undefined && (shape[0] !== h || shape[1] !== w || shape[2] !== c)) {
        fail('SENET_SHAPE', where, `${name} images`, `${h}x${w}x${c} (imageSize and the model's inChannels)`, `${shape.join('x')}`);
      }
    }
    const perEpoch = checkInt(where, 'train.batchesPerEpoch', data.train.batchesPerEpoch, 0);
    if (perEpoch === 0) fail('SENET_ARGUMENT', where, 'train', 'at least one batch per epoch', 'none (fewer images than one batch, with dropLast?)');
    if (data.train.smallestBatch === 1) {
      fail('SENET_ARGUMENT', where, 'train', 'batches of at least 2 images (batch norm in training mode needs two values per channel)',
        'a batch of 1 (the last of each epoch: set dropLast: true on the loader, or choose another batch size)');
    }
    const pos = this.position;
    if (pos.batch > perEpoch) {
      fail('SENET_ARGUMENT', where, 'train', `at least ${pos.batch} batches per epoch (the position ${this.restoredFrom ?? 'restored'} stopped at)`,
        `${perEpoch} (a different dataset, batch size, --limit or --val than the checkpoint's)`);
    }
  }

  private async appendMetrics(record: Record<string, unknown>): Promise<void> {
    if (!this.folder) return;
    const file = path.join(this.folder.dir, 'metrics.jsonl');
    try {
      await fs.promises.appendFile(file, `${JSON.stringify(record)}\n`);
    } catch (err) {
      throw new SenetError('SENET_IO', `Trainer: ${file}: cannot append: ${systemMessage(err)}`);
    }
  }

  /** metrics.jsonl as the position says: one line per finished epoch. */
  private async rewriteMetrics(): Promise<void> {
    if (!this.folder) return;
    const lines = this.position.history.map((m) => `${JSON.stringify({ type: 'epoch', precision: this.model.precision, ...m })}\n`).join('');
    await writeFileAtomicAsync(path.join(this.folder.dir, 'metrics.jsonl'), Buffer.from(lines));
  }

  private async writeRunFiles(m: EpochMetrics): Promise<void> {
    if (!this.folder) return;
    await this.appendMetrics({ type: 'epoch', precision: this.model.precision, ...m });
    await writeFileAtomicAsync(path.join(this.folder.dir, 'curves.svg'), Buffer.from(curvesSvg(this.position.history, 'SE-ResNeXt training')));
  }

  /**
   * Writes the checkpoint (the run folder's by default) atomically, without blocking the loop.
   * Called during fit() while a step is queued behind the last one taken in (from onBatchEnd with
   * overlapSteps), it resolves once fit() has taken that step in and written the file: the
   * checkpoint is of the step after the callback's, consistent and resumable exactly.
   */
  async saveCheckpoint(file = this.checkpointPath): Promise<void> {
    if (!file) return;
    // Called while fit() has a step queued behind the one it took in (from onBatchEnd, say): the
    // file would hold that step's weights with the position before it. fit() writes it once the
    // queued step is taken in.
    if (this.inFlight.length > 0) return new Promise<void>((resolve, reject) => this.saveRequests.push({ file, resolve, reject }));
    return this.writeCheckpoint(file);
  }

  private async writeCheckpoint(file: string): Promise<void> {
    // What the checkpoint records is taken now; the weights are read after the work queued so far.
    const position = structuredClone(this.position);
    const o = this.optimizer;
    const [weights, opt] = await Promise.all([this.model.readStateDict(), o.readState()]);
    const tensors = checkpointTensors(weights, opt.momentumBuffer);
    const state: CheckpointState = {
      format: TRAINING_FORMAT,
      config: this.model.config,
      position,
      optimizer: { stepCount: opt.stepCount, lr: opt.lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weightDecay, nesterov: o.nesterov },
      schedule: this.schedule.spec,
      labelSmoothing: this.labelSmoothing,
      info: this.options.checkpointInfo ?? {},
    };
    await saveCheckpointAsync(file, tensors, stateForJson(state));
  }

  /** Restores model weights, optimizer state and the training position from a checkpoint. */
  async restore(file: string | TrainingCheckpoint): Promise<Record<string, unknown>> {
    const ck = typeof file === 'string' ? await loadTrainingCheckpoint(file) : file;
    const where = `Trainer.restore: ${typeof file === 'string' ? file : 'checkpoint'}`;
    const c = this.model.config;
    const k = ck.config;
    if (JSON.stringify([k.layers, k.channels, k.cardinality, k.baseWidth, k.stemWidth, k.stem, k.inChannels, k.numClasses]) !==
        JSON.stringify([c.layers, c.channels, c.cardinality, c.baseWidth, c.stemWidth, c.stem, c.inChannels, c.numClasses])) {
      fail('SENET_STATE_DICT', where, 'config', `the model's (${JSON.stringify(c)})`, JSON.stringify(k));
    }
    this.model.loadStateDict(ck.state);
    this.optimizer.loadState({ stepCount: ck.optimizer.stepCount, lr: ck.optimizer.lr, momentumBuffer: ck.momentumBuffer });
    this.position = structuredClone(ck.position);
    this.restoredFrom = typeof file === 'string' ? file : undefined;
    return ck.info;
  }

  /** Frees the trainer's buffers (not the model or optimizer) and gives up the run folder it opened. */
  dispose(): void {
    if (this.ownsFolder) this.folder?.release();
    for (const s of [this.x, this.y, this.bytes, this.table, this.loss, this.correct, this.badCount, this.dlogits]) s.dispose();
    this.statistics?.values.dispose();
    this.statistics = undefined;
  }

  /** `using trainer = new Trainer(…)` frees its buffers at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

function zeroPartial(): TrainingPosition['partial'] {
  return { loss: 0, correct: 0, images: 0, seconds: 0, skipped: 0 };
}

function summary(m: EpochMetrics, epochs: number): string {
  const val = m.valLoss !== undefined ? `  val loss ${m.valLoss.toFixed(4)} acc ${((m.valAccuracy ?? NaN) * 100).toFixed(2)}%` : '';
  return `epoch ${m.epoch}/${epochs}: train loss ${m.trainLoss.toFixed(4)} acc ${(m.trainAccuracy * 100).toFixed(2)}%${val}  ${m.imagesPerSecond.toFixed(0)} img/s  ${m.seconds.toFixed(0)} s`;
}
