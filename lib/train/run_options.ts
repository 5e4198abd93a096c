/**
 * The options of a training run (what `senet train`'s flags set): their defaults and one table of
 * what each accepts, used both for the API's fields and the command line's flags, and to check
 * the settings a checkpoint carries back in.
 */
import { DATASET_NAMES } from '../data';
import type { SenetErrorCode } from '../errors';
import { PRESETS, type ModelName } from '../nn';
import { checkRule, fail, type ValueRule } from '../validate';
import type { DeviceRequest } from '../backends';
import { PRECISIONS, type Precision } from '../precision';
import { PROGRESS_MODES, type ProgressMode } from './progress';
import type { RunDataset } from './run_data';

/** What --dataset accepts: the built-in datasets and 'folder' (your images, root/<class>/*). */
export const RUN_DATASETS: readonly RunDataset[] = [...DATASET_NAMES, 'folder'];

/** Options of a training run; every field has a default (the README's demo). */
export interface RunOptions {
  /** A built-in dataset, or 'folder': your images in root/<class>/*.png|jpg|jpeg|webp (data). */
  dataset: RunDataset;
  /** Folder of the dataset's files; default per dataset (Fashion-MNIST: /usr/share/datasets/fashion-mnist). */
  data?: string;
  /** Image folders: the side images are resized (to cover) and center-cropped to; default 64. */
  size?: number;
  /** Image folders: 1 (gray) or 3 (RGB); default 3. */
  channels?: number;
  model: ModelName;
  stem?: 'imagenet' | 'cifar';
  epochs: number;
  /** Images per training step; at least 2, as training-mode batch norm needs. */
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  labelSmoothing: number;
  schedule: 'constant' | 'step' | 'multistep' | 'cosine';
  /** Warmup epochs of the cosine schedule. */
  warmupEpochs: number;
  /**
   * The fewest warmup steps of the cosine schedule, whatever `warmupEpochs` says (at most half
   * the run's steps): a short run otherwise reaches its peak rate in a handful of steps.
   */
  warmupSteps: number;
  device: DeviceRequest;
  /**
   * The arithmetic (see Precision): 'auto' (the default) is 'bf16' where the device has fast bf16
   * (a CPU with avx512_core_bf16 or AMX, and every GPU), 'fp32' elsewhere (see defaultTrainingPrecision). A checkpoint keeps the one it ran with (one written
   * before precisions existed ran 'fp32').
   */
  precision?: 'auto' | Precision;
  /**
   * Run folder: metrics.jsonl, curves.svg, checkpoint.safetensors. Default: a new folder
   * runs/<date>-<time> with runs/latest pointing at it; when resuming, the checkpoint's folder.
   */
  out?: string;
  /** Replace the run an existing `out` holds (its checkpoint, metrics and curves). */
  overwrite: boolean;
  /** Checkpoint to continue from. */
  resume?: string;
  /** Use only the first N training images (after the validation split); validation and test stay whole. */
  limit?: number;
  /** Images held out of the training set for validation. */
  valCount: number;
  /** Random crops (and flips where they fit the data) while training. */
  augment: boolean;
  seed: number;
  progress: ProgressMode;
  workers?: number;
  /** Also checkpoint every N steps (a checkpoint is always written at each epoch's end). */
  checkpointEverySteps?: number;
  /** Cancels the run at the next step boundary, after a checkpoint (fit rejects with an AbortError). */
  signal?: AbortSignal;
}

/**
 * The demo: an SE-ResNeXt learns Fashion-MNIST in about two minutes on two CPU cores (89.7 %).
 * SE-ResNeXt-50 itself needs about three minutes an epoch there and reached only 77-83 % after
 * one: see the README.
 */
export const DEFAULT_RUN: Readonly<Omit<RunOptions, 'out'>> = {
  dataset: 'fashion-mnist',
  model: 'seresnext26_8x8d',
  epochs: 3,
  batchSize: 64,
  lr: 0.5,
  momentum: 0.9,
  weightDecay: 1e-4,
  labelSmoothing: 0,
  schedule: 'cosine',
  warmupEpochs: 0.2,
  warmupSteps: 100,
  device: 'auto',
  overwrite: false,
  valCount: 2000,
  // Over a few epochs random crops and flips cost more accuracy than they buy (89.7 % without,
  // 87.0 % with, for this run); long runs want them: --augment.
  augment: false,
  seed: 0,
  progress: 'auto',
};

/** The folder that receives runs when `out` is not given. */
export const RUNS_DIR = 'runs';

/** The options a table entry describes (all but the signal). */
export type RunOptionKey = Exclude<keyof RunOptions, 'signal'>;

const MODELS = Object.keys(PRESETS) as ModelName[];
const int = (min: number, max = Number.MAX_SAFE_INTEGER): ValueRule => ({ kind: 'int', min, max });
const num = (min: number, max = Infinity, aboveMin = false): ValueRule => ({ kind: 'number', min, max, aboveMin });
const choice = (choices: readonly string[]): ValueRule => ({ kind: 'choice', choices });

/** Each option: its command-line flag and what it accepts. */
export const RUN_OPTION_RULES: Readonly<Record<RunOptionKey, { flag: string; rule: ValueRule }>> = {
  dataset: { flag: '--dataset', rule: choice(RUN_DATASETS) },
  data: { flag: '--data', rule: { kind: 'path' } },
  size: { flag: '--size', rule: int(1, 4096) },
  channels: { flag: '--channels', rule: int(1, 3) },
  model: { flag: '--model', rule: choice(MODELS) },
  stem: { flag: '--stem', rule: choice(['imagenet', 'cifar']) },
  epochs: { flag: '--epochs', rule: int(1, 1_000_000) },
  // Batch norm in training mode needs two values per channel; 65536 images of 28x28 are 200 MB.
  batchSize: { flag: '--batch-size', rule: int(2, 65_536) },
  // 0 would train nothing: an empty --lr= used to mean it.
  lr: { flag: '--lr', rule: num(0, 100, true) },
  momentum: { flag: '--momentum', rule: num(0, 1) },
  weightDecay: { flag: '--weight-decay', rule: num(0, 1) },
  labelSmoothing: { flag: '--label-smoothing', rule: num(0, 1) },
  schedule: { flag: '--schedule', rule: choice(['constant', 'step', 'multistep', 'cosine']) },
  warmupEpochs: { flag: '--warmup', rule: num(0, 1_000_000) },
  warmupSteps: { flag: '--warmup-steps', rule: int(0) },
  device: { flag: '--device', rule: choice(['auto', 'cpu', 'cuda']) },
  precision: { flag: '--precision', rule: choice(['auto', ...PRECISIONS]) },
  out: { flag: '--out', rule: { kind: 'path' } },
  overwrite: { flag: '--overwrite', rule: { kind: 'bool' } },
  resume: { flag: '--resume', rule: { kind: 'path' } },
  limit: { flag: '--limit', rule: int(1) },
  valCount: { flag: '--val', rule: int(0) },
  augment: { flag: '--augment', rule: { kind: 'bool' } },
  seed: { flag: '--seed', rule: int(0) },
  progress: { flag: '--progress', rule: choice(PROGRESS_MODES) },
  workers: { flag: '--workers', rule: int(0, 64) },
  checkpointEverySteps: { flag: '--checkpoint-every', rule: int(1) },
};

/**
 * Checks every field `values` sets (undefined ones are left out) and returns them. `name` says
 * how a field is named in messages (the API's field, a flag, a checkpoint's entry). Fields that
 * are not options are refused: a typo must not be ignored.
 */
export function checkRunOptions(
  where: string,
  values: unknown,
  name: (key: RunOptionKey) => string = (k) => k,
  code: SenetErrorCode = 'SENET_ARGUMENT',
): Partial<RunOptions> {
  if (values === null || typeof values !== 'object' || Array.isArray(values)) fail(code, where, 'options', 'an object', String(values));
  const out: Partial<Record<keyof RunOptions, unknown>> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    if (key === 'signal') {
      if (!(value instanceof AbortSignal)) fail(code, where, 'signal', 'an AbortSignal', String(value));
      out.signal = value;
      continue;
    }
    const entry = (RUN_OPTION_RULES as Record<string, { flag: string; rule: ValueRule } | undefined>)[key];
    if (!entry) fail(code, where, key, `one of the run options (${Object.keys(RUN_OPTION_RULES).join(', ')})`, `an unknown option '${key}'`);
    out[key as RunOptionKey] = checkRule(where, name(key as RunOptionKey), value, entry.rule, code);
  }
  return out as Partial<RunOptions>;
}

/** The options without their undefined fields. */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
