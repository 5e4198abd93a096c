/**
 * A ready model from one file: a training checkpoint (`senet train`'s checkpoint.safetensors) or
 * a weights file (`senet export --format safetensors`), with its config, its weights and the
 * preprocessing it was trained with.
 */
import { resolveDevice, type DeviceRequest } from '../backends';
import { readSafetensorsAsync } from '../io/safetensors';
import { readWeights, WEIGHTS_FORMAT } from '../io/weights';
import { createModel, type SEResNeXt } from '../nn';
import { loadTrainingCheckpoint } from '../train/trainer';
import { describe, fail } from '../validate';
import type { Preprocessing } from './preprocessing';

/** Options of loadModel. */
export interface LoadModelOptions {
  /** 'auto' (default), 'cpu' or 'cuda'. */
  device?: DeviceRequest;
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
  const format = (await readSafetensorsAsync(path)).metadata['format'];
  let model: SEResNeXt;
  let preprocessing: unknown = null;
  if (format === WEIGHTS_FORMAT) {
    const w = await readWeights(path);
    if (w.config === null) fail('SENET_FORMAT', `${where}: ${path}`, 'metadata senet.config', "the network's config", 'none');
    model = createModel(w.config, { device });
    try {
      model.loadStateDict(w.state);
    } catch (err) {
      model.dispose();
      throw err;
    }
    preprocessing = w.preprocessing;
  } else if (format === 'senet-checkpoint/1') {
    const ck = await loadTrainingCheckpoint(path);
    model = createModel(ck.config, { device });
    try {
      model.loadStateDict(ck.state);
    } catch (err) {
      model.dispose();
      throw err;
    }
    preprocessing = ck.info['preprocessing'] ?? null;
  } else {
    return fail('SENET_FORMAT', `${where}: ${path}`, 'metadata format', `'${WEIGHTS_FORMAT}' or 'senet-checkpoint/1' (a file that carries its config; for timm's weights use createModel(name, { weights }))`, format === undefined ? 'none' : describe(format));
  }
  if (preprocessing !== null) {
    try {
      model.preprocessing = preprocessing as Preprocessing;
    } catch (err) {
      model.dispose();
      throw err;
    }
  }
  model.eval();
  return model;
}
