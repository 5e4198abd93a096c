/**
 * createModel(): a preset by timm's name, or a full config, on the device asked for.
 */
import { resolveDevice, type DeviceRequest } from '../backends';
import { checkBool, checkInt, checkOneOf, checkOptions, describe, fail } from '../validate';
import { checkConfig, PRESETS, type ModelName, type SEResNeXtConfig } from './config';
import { readWeightsSync } from '../io/weights';
import type { Preprocessing } from '../predict/preprocessing';
import { SEResNeXt } from './seresnext';
import { checkPrecision, requirePrecision, type Precision } from '../precision';

/** Options of createModel; each overrides the preset's (or config's) value. */
export interface ModelOptions {
  /** 'auto' (CUDA when fully available, else CPU; the default), 'cpu' or 'cuda'. */
  device?: DeviceRequest;
  numClasses?: number;
  inChannels?: number;
  stem?: 'imagenet' | 'cifar';
  /** Seed of the weight initialisation; default 0. */
  seed?: number;
  /** Start each block's last BN scale at 0, as timm does by default; default true. */
  zeroInitLast?: boolean;
  /**
   * A safetensors state dict in timm's names to load (a timm checkpoint, or `senet export`'s
   * file), checked as loadStateDict checks it. Read synchronously: in a server prefer
   * `await model.loadWeights(path)`.
   */
  weights?: string;
  /**
   * 'fp32' (the default), 'tf32' (TF32 tensor cores on the GPU; float32 on the CPU) or 'bf16'
   * (mixed precision; a CPU with avx512_core_bf16 or AMX, else SENET_UNSUPPORTED). See Precision.
   */
  precision?: Precision;
}

/** Builds SE-ResNeXt from a preset name or a full config. */
export function createModel(nameOrConfig: ModelName | SEResNeXtConfig, options?: ModelOptions): SEResNeXt {
  const where = 'createModel';
  const o = checkOptions(where, options);
  let base: SEResNeXtConfig;
  if (typeof nameOrConfig === 'string') {
    const names = Object.keys(PRESETS) as ModelName[];
    base = PRESETS[checkOneOf(where, 'model', nameOrConfig, names)];
  } else if (nameOrConfig !== null && typeof nameOrConfig === 'object') {
    base = nameOrConfig;
  } else {
    return fail('SENET_ARGUMENT', where, 'model', `a preset name (${Object.keys(PRESETS).join(', ')}) or a config object`, describe(nameOrConfig));
  }
  const config = checkConfig(where, {
    ...base,
    ...(o.numClasses !== undefined && { numClasses: o.numClasses }),
    ...(o.inChannels !== undefined && { inChannels: o.inChannels }),
    ...(o.stem !== undefined && { stem: o.stem }),
  });
  if (o.weights !== undefined && typeof o.weights !== 'string') fail('SENET_ARGUMENT', where, 'weights', 'a file path', describe(o.weights));
  const device = resolveDevice(o.device ?? 'auto');
  const precision = checkPrecision(where, o.precision ?? 'fp32');
  requirePrecision(where, device, precision);
  const model = new SEResNeXt(config, {
    device,
    precision,
    seed: checkInt(where, 'seed', o.seed ?? 0, 0, 2 ** 36),
    zeroInitLast: checkBool(where, 'zeroInitLast', o.zeroInitLast ?? true),
  });
  if (o.weights !== undefined) {
    try {
      const w = readWeightsSync(o.weights);
      model.loadStateDict(w.state);
      if (w.preprocessing !== null) model.preprocessing = w.preprocessing as Preprocessing;
    } catch (err) {
      model.dispose();
      throw err;
    }
  }
  return model;
}
