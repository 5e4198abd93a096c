/**
 * The training checkpoint's layout: the model's tensors under `model.`, the optimizer's momentum,
 * and a JSON state (config, position, optimizer, schedule, run settings). Everything read back is
 * checked before any of it is used, so that a damaged or hand-edited checkpoint is refused at
 * load, naming the file and the field, instead of failing (or silently training nothing) later.
 */
import { SenetError } from '../errors';
import { loadCheckpointAsync, type SafetensorsTensor, type TensorToWrite } from '../io';
import { checkConfig, type SEResNeXt, type StateTensor } from '../nn';
import { makeSchedule, type ScheduleSpec } from '../optim/schedules';
import { checkBool, checkInt, checkNumber, checkRule, describe, fail } from '../validate';
import type { EpochMetrics, TrainingPosition } from './trainer';

/** The `format` of the JSON state. */
export const TRAINING_FORMAT = 'senet-training/1';
/** The tensor holding SGD's momentum buffer. */
export const MOMENTUM_KEY = 'optimizer.momentum_buffer';
const MODEL_PREFIX = 'model.';

/** The JSON state a training checkpoint carries. */
export interface CheckpointState {
  format: typeof TRAINING_FORMAT;
  config: SEResNeXt['config'];
  position: TrainingPosition;
  optimizer: { stepCount: number; lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean };
  schedule: ScheduleSpec | null;
  labelSmoothing: number;
  info: Record<string, unknown>;
}

/** A training checkpoint, read back and checked. */
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

/**
 * The state as JSON will hold it: a metric that is NaN (an epoch whose every step was skipped)
 * becomes null, which JSON can write and `loadTrainingCheckpoint` reads back as NaN.
 */
export function stateForJson(state: CheckpointState): CheckpointState {
  const finiteOrNull = (v: number | undefined) => (v === undefined || Number.isFinite(v) ? v : null);
  const history = state.position.history.map((m) => {
    const out: Record<string, unknown> = { ...m };
    for (const [k, v] of Object.entries(m)) if (typeof v === 'number') out[k] = finiteOrNull(v);
    return out as unknown as EpochMetrics;
  });
  return { ...state, position: { ...state.position, history } };
}

/** The tensors of a checkpoint, as `saveCheckpointAsync` takes them. */
export function checkpointTensors(weights: Map<string, StateTensor>, momentumBuffer: Float32Array | null): Record<string, TensorToWrite> {
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, t] of weights) tensors[`${MODEL_PREFIX}${name}`] = { dtype: t.data instanceof BigInt64Array ? 'I64' : 'F32', shape: t.shape, data: t.data };
  if (momentumBuffer) tensors[MOMENTUM_KEY] = { dtype: 'F32', shape: [momentumBuffer.length], data: momentumBuffer };
  return tensors;
}

/**
 * Reads a checkpoint written by a Trainer (without blocking the loop) and checks all of it:
 * SENET_IO if it cannot be read, SENET_FORMAT for a file or a JSON field that is not what a
 * Trainer writes (naming the file and the field), SENET_STATE_DICT for a tensor of the wrong
 * dtype or shape, or a momentum buffer that is not finite.
 */
export async function loadTrainingCheckpoint(file: string): Promise<TrainingCheckpoint> {
  checkRule('loadTrainingCheckpoint', 'file', file, { kind: 'path' });
  const ck = await loadCheckpointAsync<unknown>(file);
  const s = checkState(file, ck.state);
  const { state, momentumBuffer } = checkTensors(file, ck.tensors);
  return { config: s.config, state, momentumBuffer, position: s.position, optimizer: s.optimizer, schedule: s.schedule, labelSmoothing: s.labelSmoothing, info: s.info };
}

/** Runs a check and turns its error into SENET_FORMAT for `file` (a field it holds is wrong). */
function inFile<T>(file: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof SenetError && err.code !== 'SENET_FORMAT') throw new SenetError('SENET_FORMAT', err.message.startsWith(file) ? err.message : `${file}: ${err.message}`);
    throw err;
  }
}

function object(file: string, what: string, v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail('SENET_FORMAT', file, what, 'an object', describe(v));
  return v as Record<string, unknown>;
}

/** A metric as JSON holds it: a number, or null for NaN. */
function metric(file: string, what: string, v: unknown): number {
  if (v === null) return NaN;
  return inFile(file, () => checkNumber(file, what, v));
}

function checkState(file: string, raw: unknown): CheckpointState {
  const s = object(file, 'state', raw);
  if (s['format'] !== TRAINING_FORMAT) fail('SENET_FORMAT', file, 'format', `'${TRAINING_FORMAT}' (a senet training checkpoint)`, describe(s['format']));
  const config = inFile(file, () => checkConfig(file, s['config']));
  const position = checkPosition(file, s['position']);
  const o = object(file, 'optimizer', s['optimizer']);
  const optimizer = inFile(file, () => ({
    stepCount: checkInt(file, 'optimizer.stepCount', o['stepCount'], 0, position.globalStep),
    lr: checkNumber(file, 'optimizer.lr', o['lr'], 0),
    momentum: checkNumber(file, 'optimizer.momentum', o['momentum'], 0),
    dampening: checkNumber(file, 'optimizer.dampening', o['dampening']),
    weightDecay: checkNumber(file, 'optimizer.weightDecay', o['weightDecay'], 0),
    nesterov: checkBool(file, 'optimizer.nesterov', o['nesterov']),
  }));
  const schedule = s['schedule'] === null ? null : inFile(file, () => makeSchedule(object(file, 'schedule', s['schedule']) as unknown as ScheduleSpec).spec);
  const labelSmoothing = inFile(file, () => checkNumber(file, 'labelSmoothing', s['labelSmoothing'], 0, 1));
  const info = object(file, 'info', s['info']);
  return { format: TRAINING_FORMAT, config, position, optimizer, schedule, labelSmoothing, info };
}

function checkPosition(file: string, raw: unknown): TrainingPosition {
  const p = object(file, 'position', raw);
  const part = object(file, 'position.partial', p['partial']);
  return inFile(file, () => {
    const epoch = checkInt(file, 'position.epoch', p['epoch'], 0, 1_000_000);
    const batch = checkInt(file, 'position.batch', p['batch'], 0);
    const globalStep = checkInt(file, 'position.globalStep', p['globalStep'], 0);
    const images = checkInt(file, 'position.partial.images', part['images'], 0);
    const partial = {
      loss: checkNumber(file, 'position.partial.loss', part['loss'], 0),
      correct: checkInt(file, 'position.partial.correct', part['correct'], 0, images),
      images,
      seconds: checkNumber(file, 'position.partial.seconds', part['seconds'], 0),
      skipped: checkInt(file, 'position.partial.skipped', part['skipped'], 0, batch),
    };
    const h = p['history'];
    if (!Array.isArray(h) || h.length !== epoch) {
      fail('SENET_FORMAT', file, 'position.history', `an array of ${epoch} epoch records (one per finished epoch)`, describe(h));
    }
    const history = h.map((raw, i) => checkEpochMetrics(file, `position.history[${i}]`, raw, i + 1));
    return { epoch, batch, globalStep, partial, history };
  });
}

function checkEpochMetrics(file: string, what: string, raw: unknown, epoch: number): EpochMetrics {
  const m = object(file, what, raw);
  const out: EpochMetrics = {
    epoch: checkInt(file, `${what}.epoch`, m['epoch'], epoch, epoch),
    trainLoss: metric(file, `${what}.trainLoss`, m['trainLoss']),
    trainAccuracy: metric(file, `${what}.trainAccuracy`, m['trainAccuracy']),
    lr: metric(file, `${what}.lr`, m['lr']),
    seconds: metric(file, `${what}.seconds`, m['seconds']),
    imagesPerSecond: metric(file, `${what}.imagesPerSecond`, m['imagesPerSecond']),
    skippedSteps: checkInt(file, `${what}.skippedSteps`, m['skippedSteps'], 0),
  };
  if (m['valLoss'] !== undefined) out.valLoss = metric(file, `${what}.valLoss`, m['valLoss']);
  if (m['valAccuracy'] !== undefined) out.valAccuracy = metric(file, `${what}.valAccuracy`, m['valAccuracy']);
  return out;
}

/** The model's tensors by name (without the prefix) and the momentum buffer, each of the dtype it must have. */
function checkTensors(file: string, tensors: Map<string, SafetensorsTensor>): { state: Map<string, StateTensor>; momentumBuffer: Float32Array | null } {
  const state = new Map<string, StateTensor>();
  let momentumBuffer: Float32Array | null = null;
  const wrong = (name: string, what: string, expected: string, received: string) => fail('SENET_STATE_DICT', file, `tensor '${name}': ${what}`, expected, received);
  for (const [name, t] of tensors) {
    if (name === MOMENTUM_KEY) {
      if (t.dtype !== 'F32') wrong(name, 'dtype', 'F32', t.dtype);
      if (t.shape.length !== 1) wrong(name, 'shape', 'one dimension', `[${t.shape.join(', ')}]`);
      momentumBuffer = new Float32Array(t.data.slice().buffer);
      const bad = momentumBuffer.findIndex((v) => !Number.isFinite(v));
      // A NaN here would come back as a NaN loss blamed on the data: refuse it where it is.
      if (bad >= 0) wrong(name, `value ${bad}`, 'a finite number', String(momentumBuffer[bad]));
    } else if (name.startsWith(MODEL_PREFIX)) {
      // The data are read as their dtype says; loadStateDict then refuses the wrong kind by name.
      if (t.dtype === 'F32') state.set(name.slice(MODEL_PREFIX.length), { shape: t.shape, data: new Float32Array(t.data.slice().buffer) });
      else if (t.dtype === 'I64') state.set(name.slice(MODEL_PREFIX.length), { shape: t.shape, data: new BigInt64Array(t.data.slice().buffer) });
      else wrong(name, 'dtype', "F32 (I64 for a batch norm's num_batches_tracked)", t.dtype);
    } else {
      wrong(name, 'name', `'${MODEL_PREFIX}…' or '${MOMENTUM_KEY}'`, 'neither');
    }
  }
  return { state, momentumBuffer };
}
