/**
 * SE-ResNeXt configurations: the presets (timm's names) and the checks on a full config.
 */
import { SenetError } from '../errors';
import { checkInt, checkOneOf, describe, fail } from '../validate';

/** A full network description, as the parity fixtures write it. */
export interface SEResNeXtConfig {
  /** Blocks per stage, e.g. [3, 4, 6, 3]. */
  layers: number[];
  /** Planes per stage (block outputs are 4×), e.g. [64, 128, 256, 512]. */
  channels: number[];
  /** Groups of the 3×3 convs (32 in SE-ResNeXt, 1 in SE-ResNet). */
  cardinality: number;
  /** Width per group at 64 planes (4 in 32x4d). */
  baseWidth: number;
  /** Output channels of the stem conv. */
  stemWidth: number;
  /** 'imagenet': 7×7/2 conv + 3×3/2 max-pool; 'cifar': 3×3/1 conv, no pool (small images). */
  stem: 'imagenet' | 'cifar';
  inChannels: number;
  numClasses: number;
}

/** Preset names. */
export type ModelName = 'seresnext26_8x8d' | 'seresnext26_32x4d' | 'seresnext50_32x4d' | 'seresnext101_32x4d' | 'seresnet50';

const base = { channels: [64, 128, 256, 512], stemWidth: 64, stem: 'imagenet' as const, inChannels: 3, numClasses: 1000 };

/** The presets at ImageNet defaults (3 input channels, 1000 classes, ImageNet stem). */
export const PRESETS: Record<ModelName, SEResNeXtConfig> = {
  // SE-ResNeXt-26 at half width with 8 groups of 8 channels (4.3 M parameters at 10 classes):
  // senet's own preset, the demo's default, which learns Fashion-MNIST in minutes on a CPU.
  seresnext26_8x8d: { ...base, layers: [2, 2, 2, 2], channels: [32, 64, 128, 256], stemWidth: 32, cardinality: 8, baseWidth: 16 },
  seresnext26_32x4d: { ...base, layers: [2, 2, 2, 2], cardinality: 32, baseWidth: 4 },
  seresnext50_32x4d: { ...base, layers: [3, 4, 6, 3], cardinality: 32, baseWidth: 4 },
  seresnext101_32x4d: { ...base, layers: [3, 4, 23, 3], cardinality: 32, baseWidth: 4 },
  // The paper's SE-ResNet-50: plain bottlenecks (one group, width = planes).
  seresnet50: { ...base, layers: [3, 4, 6, 3], cardinality: 1, baseWidth: 64 },
};

/** Checks a full config; every problem is a SENET_ARGUMENT error naming the field. */
export function checkConfig(where: string, c: unknown): SEResNeXtConfig {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) fail('SENET_ARGUMENT', where, 'config', 'an object', describe(c));
  const o = c as Partial<SEResNeXtConfig>;
  const ints = (what: 'layers' | 'channels', min: number): number[] => {
    const v = o[what];
    if (!Array.isArray(v) || v.length === 0) fail('SENET_ARGUMENT', where, `config.${what}`, 'a non-empty array of integers', describe(v));
    return v.map((x, i) => checkInt(where, `config.${what}[${i}]`, x, min));
  };
  const layers = ints('layers', 1);
  const channels = ints('channels', 1);
  if (layers.length !== channels.length) {
    throw new SenetError('SENET_ARGUMENT', `${where}: config.channels: expected ${layers.length} entries (one per stage in layers), received ${channels.length}`);
  }
  const cardinality = checkInt(where, 'config.cardinality', o.cardinality, 1);
  const baseWidth = checkInt(where, 'config.baseWidth', o.baseWidth, 1);
  channels.forEach((planes, i) => {
    if (Math.floor((planes * baseWidth) / 64) < 1) {
      fail('SENET_ARGUMENT', where, `config.channels[${i}]`, `planes · baseWidth ≥ 64 so that each group has a channel (baseWidth ${baseWidth})`, String(planes));
    }
  });
  return {
    layers,
    channels,
    cardinality,
    baseWidth,
    stemWidth: checkInt(where, 'config.stemWidth', o.stemWidth, 1),
    stem: checkOneOf(where, 'config.stem', o.stem, ['imagenet', 'cifar'] as const),
    inChannels: checkInt(where, 'config.inChannels', o.inChannels, 1),
    numClasses: checkInt(where, 'config.numClasses', o.numClasses, 1),
  };
}
