/**
 * Checkpoints: one safetensors file holding the tensors (weights, BN buffers, optimizer state)
 * and a JSON state object in its metadata, replaced atomically so that a crash mid-save never
 * loses the previous checkpoint.
 */
import { SenetError } from '../errors';
import { describe, fail } from '../validate';
import {
  readSafetensors,
  readSafetensorsAsync,
  writeSafetensors,
  writeSafetensorsAsync,
  type SafetensorsFile,
  type SafetensorsTensor,
  type TensorToWrite,
} from './safetensors';

/** The metadata `format` value that marks a senet checkpoint. */
export const CHECKPOINT_FORMAT = 'senet-checkpoint/1';
const FORMAT = CHECKPOINT_FORMAT;
/** The metadata key holding the JSON state. */
const STATE_KEY = 'senet.checkpoint';

/** Tensor data by name, as a training loop holds it; shapes are given separately. */
export interface CheckpointTensors {
  [name: string]: Float32Array | BigInt64Array | Int32Array | Uint8Array;
}

/** A loaded checkpoint. */
export interface Checkpoint<S> {
  /** Tensors by name (views into the file's buffer; see `toFloat32`, `toBigInt64`). */
  tensors: Map<string, SafetensorsTensor>;
  /** The state object given to `saveCheckpoint`, parsed back from JSON. */
  state: S;
  /** The file's metadata, `format` and `senet.checkpoint` included. */
  metadata: Record<string, string>;
}

/**
 * Saves tensors and a JSON-serializable `state` (step, epoch, learning rate, RNG seeds, ...) to
 * `path`, atomically: `path` holds the previous checkpoint until the new one is complete.
 * `SENET_ARGUMENT` if `state` cannot round-trip through JSON (cycles, BigInt, NaN or Infinity,
 * undefined at the top). Blocking: the event loop stops until the file is on disk.
 */
export function saveCheckpoint<S>(path: string, tensors: Record<string, TensorToWrite>, state: S): void {
  writeSafetensors(path, tensors, metadataFor('saveCheckpoint', state));
}

/**
 * As `saveCheckpoint` (the same bytes and guarantees), without blocking the event loop; errors
 * reject the promise. The tensors' data are written from where they lie, so they must not change
 * (e.g. by an optimizer step) nor be freed until the promise settles; copy them first to train on meanwhile.
 */
export async function saveCheckpointAsync<S>(path: string, tensors: Record<string, TensorToWrite>, state: S): Promise<void> {
  await writeSafetensorsAsync(path, tensors, metadataFor('saveCheckpointAsync', state));
}

function metadataFor(where: string, state: unknown): Record<string, string> {
  return { format: FORMAT, [STATE_KEY]: stateJson(where, state) };
}

function stateJson(where: string, state: unknown): string {
  let text: string | undefined;
  try {
    // JSON.stringify would silently write NaN and Infinity as null; refuse instead.
    text = JSON.stringify(state, (key, value: unknown) => {
      if (typeof value === 'number' && !Number.isFinite(value)) {
        fail('SENET_ARGUMENT', where, `state${key === '' ? '' : `.${key}`}`, 'a finite number', describe(value));
      }
      return value;
    });
  } catch (err) {
    if (err instanceof SenetError) throw err;
    fail('SENET_ARGUMENT', where, 'state', 'a JSON-serializable value', `one that JSON.stringify refuses (${(err as Error).message})`);
  }
  if (text === undefined) fail('SENET_ARGUMENT', where, 'state', 'a JSON-serializable value', describe(state));
  return text;
}

/**
 * Loads a checkpoint written by `saveCheckpoint`. `SENET_IO` if the file cannot be read,
 * `SENET_FORMAT` if it is not a valid safetensors file or not a senet checkpoint (wrong or missing
 * `format`, missing or unparsable state). The state's type `S` is the caller's claim, not checked.
 * Blocking: the event loop stops while the file is read.
 */
export function loadCheckpoint<S>(path: string): Checkpoint<S> {
  return checkpointOf<S>(`loadCheckpoint: ${path}`, readSafetensors(path));
}

/** As `loadCheckpoint` (the same checks), without blocking the event loop; errors reject the promise. */
export async function loadCheckpointAsync<S>(path: string): Promise<Checkpoint<S>> {
  return checkpointOf<S>(`loadCheckpointAsync: ${path}`, await readSafetensorsAsync(path));
}

/** The checkpoint a parsed file holds, or SENET_FORMAT if it holds none. */
function checkpointOf<S>(where: string, { tensors, metadata }: SafetensorsFile): Checkpoint<S> {
  const format = metadata.format;
  if (format !== FORMAT) {
    fail('SENET_FORMAT', where, 'metadata format', `'${FORMAT}' (a senet checkpoint)`, format === undefined ? 'none' : describe(format));
  }
  const text = metadata[STATE_KEY];
  if (text === undefined) fail('SENET_FORMAT', where, `metadata ${STATE_KEY}`, 'the JSON state', 'none');
  let state: S;
  try {
    state = JSON.parse(text) as S;
  } catch (err) {
    fail('SENET_FORMAT', where, `metadata ${STATE_KEY}`, 'valid JSON', `a syntax error (${(err as Error).message})`);
  }
  return { tensors, state, metadata };
}
