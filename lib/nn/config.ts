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

/**
 * Bounds of a config, checked before anything is allocated: far beyond any published SE-ResNeXt
 * (101 has 33 blocks, 2,048 output channels, 32 groups), so that a typo (layers: [1e6]) is an
 * error naming the field rather than minutes of allocation.
 */
export const CONFIG_LIMITS = {
  stages: 8,
  blocksPerStage: 256,
  blocks: 512,
  planes: 8192,
  cardinality: 1024,
  baseWidth: 1024,
  stemWidth: 8192,
  inChannels: 64,
  numClasses: 1_000_000,
  /** Trainable parameters. */
  parameters: 2_000_000_000,
} as const;

/** Trainable parameters of a (checked) config, counted as the model lays them out. */
export function countParameters(c: SEResNeXtConfig): number {
  const stemK = c.stem === 'imagenet' ? 7 : 3;
  let n = c.stemWidth * stemK * stemK * c.inChannels + 2 * c.stemWidth;
  let inC = c.stemWidth;
  c.layers.forEach((count, stage) => {
    const planes = c.channels[stage]!;
    const width = Math.floor((planes * c.baseWidth) / 64) * c.cardinality;
    const out = planes * 4;
    const r = Math.max(8, Math.floor((out / 16 + 4) / 8) * 8);
    for (let b = 0; b < count; b++) {
      n += inC * width + 2 * width; // conv1 + bn1
      n += width * 9 * (width / c.cardinality) + 2 * width; // conv2 + bn2
      n += width * out + 2 * out; // conv3 + bn3
      n += out * r + r + r * out + out; // SE
      if (b === 0 && (stage > 0 || inC !== out)) n += inC * out + 2 * out; // downsample
      inC = out;
    }
  });
  return n + inC * c.numClasses + c.numClasses;
}

/** Checks a full config; every problem is a SENET_ARGUMENT error naming the field. */
export function checkConfig(where: string, c: unknown): SEResNeXtConfig {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) fail('SENET_ARGUMENT', where, 'config', 'an object', describe(c));
  const o = c as Partial<SEResNeXtConfig>;
  const ints = (what: 'layers' | 'channels', min: number, max: number): number[] => {
    const v = o[what];
    if (!Array.isArray(v) || v.length === 0) fail('SENET_ARGUMENT', where, `config.${what}`, 'a non-empty array of integers', describe(v));
    if (v.length > CONFIG_LIMITS.stages) fail('SENET_ARGUMENT', where, `config.${what}`, `at most ${CONFIG_LIMITS.stages} stages`, `${v.length} entries`);
    return v.map((x, i) => checkInt(where, `config.${what}[${i}]`, x, min, max));
  };
  const L = CONFIG_LIMITS;
  const layers = ints('layers', 1, L.blocksPerStage);
  const channels = ints('channels', 1, L.planes);
  if (layers.length > L.stages) fail('SENET_ARGUMENT', where, 'config.layers', `at most ${L.stages} stages`, `${layers.length}`);
  const blocks = layers.reduce((a, b) => a + b, 0);
  if (blocks > L.blocks) fail('SENET_ARGUMENT', where, 'config.layers', `at most ${L.blocks} blocks in all`, `${blocks}`);
  if (layers.length !== channels.length) {
    throw new SenetError('SENET_ARGUMENT', `${where}: config.channels: expected ${layers.length} entries (one per stage in layers), received ${channels.length}`);
  }
  const cardinality = checkInt(where, 'config.cardinality', o.cardinality, 1, L.cardinality);
  const baseWidth = checkInt(where, 'config.baseWidth', o.baseWidth, 1, L.baseWidth);
  channels.forEach((planes, i) => {
    if (Math.floor((planes * baseWidth) / 64) < 1) {
      fail('SENET_ARGUMENT', where, `config.channels[${i}]`, `planes · baseWidth ≥ 64 so that each group has a channel (baseWidth ${baseWidth})`, String(planes));
    }
  });
  const config: SEResNeXtConfig = {
    layers,
    channels,
    cardinality,
    baseWidth,
    stemWidth: checkInt(where, 'config.stemWidth', o.stemWidth, 1, L.stemWidth),
    stem: checkOneOf(where, 'config.stem', o.stem, ['imagenet', 'cifar'] as const),
    inChannels: checkInt(where, 'config.inChannels', o.inChannels, 1, L.inChannels),
    numClasses: checkInt(where, 'config.numClasses', o.numClasses, 1, L.numClasses),
  };
  const parameters = countParameters(config);
  if (parameters > L.parameters) {
    fail('SENET_ARGUMENT', where, 'config', `at most ${L.parameters.toLocaleString('en-US')} parameters`, `a network of ${parameters.toLocaleString('en-US')}`);
  }
  return config;
}
