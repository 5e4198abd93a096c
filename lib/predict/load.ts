/**
 * A ready model from one file: a training checkpoint (`senet train`'s checkpoint.safetensors) or
 * a weights file (`senet export --format safetensors`), with its config, its weights and the
 * preprocessing it was trained with.
 */
import { resolveDevice, type DeviceRequest } from '../backends';
import { CHECKPOINT_FORMAT } from '../io/checkpoint';
import { readSafetensorsAsync } from '../io/safetensors';
import { readWeights, WEIGHTS_FORMAT } from '../io/weights';
import { createModel, type SEResNeXt, type SEResNeXtConfig, type StateDict } from '../nn';
import { loadTrainingCheckpoint } from '../train/trainer';
import { checkPrecision, type Precision } from '../precision';
import { describe, fail } from '../validate';
import type { Preprocessing } from './preprocessing';

/** Options of loadModel. */
export interface LoadModelOptions {
  /** 'auto' (default), 'cpu' or 'cuda'. */
  device?: DeviceRequest;
  /** The model's precision (see Precision); default 'fp32'. 'bf16' halves inference's memory traffic on a CPU with bf16. */
  precision?: Precision;
}

/**
 * Builds the model a checkpoint or weights file describes, loads its weights (checked as
 * loadStateDict checks them) and its preprocessing, in eval mode. A timm checkpoint, which
 * carries no config, is refused with SENET_FORMAT: use createModel(name, { weights }) for it.
 */
export async function loadModel(path: string, options?: LoadModelOptions): Promise<SEResNeXt> {
  const where = 'loadModel';
  if (typeof path !== 'string') fail('SENET_ARGUMENT', where, 'path', 'a file path', describe(path));
  const device = resolveDevice(options?.device ?? 'auto');
  const precision = checkPrecision(where, options?.precision ?? 'fp32');
  const format = (await readSafetensorsAsync(path)).metadata['format'];
  let config: SEResNeXtConfig;
  let state: StateDict;
  let preprocessing: unknown;
  if (format === WEIGHTS_FORMAT) {
    const w = await readWeights(path);
    if (w.config === null) fail('SENET_FORMAT', `${where}: ${path}`, 'metadata senet.config', "the network's config", 'none');
    ({ config, state, preprocessing } = w);
  } else if (format === CHECKPOINT_FORMAT) {
    const ck = await loadTrainingCheckpoint(path);
    ({ config, state } = ck);
    preprocessing = ck.info['preprocessing'] ?? null;
  } else {
    return fail('SENET_FORMAT', `${where}: ${path}`, 'metadata format', `'${WEIGHTS_FORMAT}' or '${CHECKPOINT_FORMAT}' (a file that carries its config; for timm's weights use createModel(name, { weights }))`, format === undefined ? 'none' : describe(format));
  }
  const model = createModel(config, { device, precision });
  try {
    model.loadStateDict(state);
    if (preprocessing !== null) model.preprocessing = preprocessing as Preprocessing;
  } catch (err) {
    model.dispose();
    throw err;
  }
  model.eval();
  return model;
}
