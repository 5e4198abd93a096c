/**
 * Weights alone, in timm's names and PyTorch's layouts: what `senet export --format safetensors`
 * writes and what `model.loadWeights()` reads. The file is a plain safetensors state dict that
 * `timm.create_model(...).load_state_dict(safetensors.torch.load_file(FILE))` accepts; senet's
 * own metadata (the network's config and the preprocessing it was trained with) rides in
 * `__metadata__`, which PyTorch ignores.
 */
import type { SEResNeXtConfig, StateDict } from '../nn';
import { fail } from '../validate';
import { readSafetensors, readSafetensorsAsync, toBigInt64, toFloat32, writeSafetensorsAsync, type SafetensorsFile, type TensorToWrite } from './safetensors';

/** The metadata `format` of a senet weights file. */
export const WEIGHTS_FORMAT = 'senet-weights/1';

/** A weights file, read. */
export interface WeightsFile {
  /** Every tensor, floats as Float32Array (F16, BF16 and F64 widened or rounded), counters as BigInt64Array. */
  state: StateDict;
  /** The network's config when the file carries senet's metadata, else null (a timm checkpoint). */
  config: SEResNeXtConfig | null;
  /** The preprocessing recorded with it (unchecked here), or null. */
  preprocessing: unknown;
  /** The file's metadata strings. */
  metadata: Record<string, string>;
}

function fromFile(file: SafetensorsFile, path: string): WeightsFile {
  const where = `readWeights: ${path}`;
  const state: StateDict = new Map();
  for (const [name, t] of file.tensors) {
    const counter = name.endsWith('num_batches_tracked');
    state.set(name, { shape: t.shape.slice(), data: counter ? toBigInt64(t, name) : toFloat32(t, name) });
  }
  const json = (key: string): unknown => {
    const text = file.metadata[key];
    if (text === undefined) return null;
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      return fail('SENET_FORMAT', where, `metadata ${key}`, 'valid JSON', `a syntax error (${(err as Error).message})`);
    }
  };
  return { state, config: json('senet.config') as SEResNeXtConfig | null, preprocessing: json('senet.preprocessing'), metadata: file.metadata };
}

/** Reads a safetensors state dict (timm's or senet's), without blocking the loop. */
export async function readWeights(path: string): Promise<WeightsFile> {
  return fromFile(await readSafetensorsAsync(path), path);
}

/** As readWeights, blocking. */
export function readWeightsSync(path: string): WeightsFile {
  return fromFile(readSafetensors(path), path);
}

/**
 * Writes a state dict with timm's keys (nothing else: no prefix, no optimizer) and senet's
 * metadata, atomically.
 */
export async function writeWeights(path: string, state: StateDict, meta: { config: SEResNeXtConfig; preprocessing?: unknown }): Promise<void> {
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, t] of state) tensors[name] = { dtype: t.data instanceof BigInt64Array ? 'I64' : 'F32', shape: t.shape, data: t.data };
  const metadata: Record<string, string> = { format: WEIGHTS_FORMAT, 'senet.config': JSON.stringify(meta.config) };
  if (meta.preprocessing !== undefined && meta.preprocessing !== null) metadata['senet.preprocessing'] = JSON.stringify(meta.preprocessing);
  await writeSafetensorsAsync(path, tensors, metadata);
}
