/**
 * createModel(): a preset by timm's name, or a full config, on the device asked for.
 */
import { resolveDevice, type DeviceRequest } from '../backends';
import { checkBool, checkInt, checkOneOf, checkOptions, describe, fail } from '../validate';
import { checkConfig, PRESETS, type ModelName, type SEResNeXtConfig } from './config';
import { SEResNeXt } from './seresnext';

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
  return new SEResNeXt(config, {
    device: resolveDevice(o.device ?? 'auto'),
    seed: checkInt(where, 'seed', o.seed ?? 0, 0, 2 ** 36),
    zeroInitLast: checkBool(where, 'zeroInitLast', o.zeroInitLast ?? true),
  });
}
