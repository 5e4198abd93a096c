/**
 * The flags of each senet command and the rule each value follows. senet train's are the run
 * options' own table (lib/train/run_options.ts), so the API and the command accept the same.
 */
import type { FlagSpec } from './flags';
import { RUN_OPTION_RULES } from './train/run_options';
import type { ValueRule } from './validate';

const int = (min: number, max = Number.MAX_SAFE_INTEGER): ValueRule => ({ kind: 'int', min, max });
const choice = (...choices: string[]): ValueRule => ({ kind: 'choice', choices });
/** Threads of the CPU backend (every command that computes). */
const THREADS: FlagSpec = { flag: '--threads', rule: int(1, 4096) };

/** senet train's flags: the run options' (one table for the API and the command), and the command's own. */
export const TRAIN_FLAGS: FlagSpec[] = [
  ...Object.values(RUN_OPTION_RULES).map((r) => (r.flag === '--limit' ? { flag: '--limit', rule: int(0) } : r)),
  { flag: '--no-augment', rule: { kind: 'bool' } },
  THREADS,
];

/** senet eval's flags. */
export const EVAL_FLAGS: FlagSpec[] = [
  { flag: '--checkpoint', rule: { kind: 'path' } },
  RUN_OPTION_RULES.dataset,
  RUN_OPTION_RULES.data,
  { flag: '--batch-size', rule: int(1, 65_536) },
  RUN_OPTION_RULES.device,
  RUN_OPTION_RULES.precision,
  THREADS,
  RUN_OPTION_RULES.progress,
];

/** senet predict's flags (the images are its positional arguments). */
export const PREDICT_FLAGS: FlagSpec[] = [
  { flag: '--checkpoint', rule: { kind: 'path' } },
  { flag: '--top-k', rule: int(1, 1_000_000) },
  { flag: '--batch-size', rule: int(1, 65_536) },
  RUN_OPTION_RULES.device,
  THREADS,
];

/** senet export's flags. */
export const EXPORT_FLAGS: FlagSpec[] = [
  { flag: '--checkpoint', rule: { kind: 'path' } },
  { flag: '--format', rule: choice('safetensors', 'onnx') },
  { flag: '--out', rule: { kind: 'path' } },
];

/** senet bench's flags. */
export const BENCH_FLAGS: FlagSpec[] = [
  RUN_OPTION_RULES.model,
  { flag: '--batch-size', rule: int(2, 65_536) },
  { flag: '--size', rule: int(1, 4096) },
  { flag: '--channels', rule: int(1, 64) },
  { flag: '--classes', rule: int(1, 100_000) },
  RUN_OPTION_RULES.stem,
  RUN_OPTION_RULES.device,
  { flag: '--steps', rule: int(1, 1_000_000) },
  { flag: '--warmup', rule: int(0, 1_000_000) },
  { flag: '--repeats', rule: int(1, 1000) },
  { flag: '--precision', rule: choice('fp32', 'tf32', 'bf16') },
  { flag: '--pytorch-format', rule: choice('nchw', 'channels_last', 'both') },
  { flag: '--breakdown', rule: { kind: 'bool' } },
  { flag: '--no-pytorch', rule: { kind: 'bool' } },
  THREADS,
];

