/**
 * Child process for checkpoint.test.ts (compiled to dist/test/io/kill-during-save.js and run with
 * node): resumes from the checkpoint at argv[2] if there is one, then saves ~20 MB checkpoints with
 * increasing steps to that path until killed, printing "<step> <milliseconds>" after each save
 * completes. Step s holds 20 tensors "weights.NN" with element i = s + (i % 1024), so a torn file
 * would show mixed steps. Several tensors mean several write calls: a kill lands between two of
 * them (one call of 20 MB is not interrupted by SIGKILL), so a non-atomic save would be caught.
 * It stops by itself after argv[3] seconds (default 30) in case the test dies without killing it.
 */
import * as fs from 'node:fs';
import { loadCheckpoint, saveCheckpoint, type TensorToWrite } from '../../lib/io';

/** What each step's checkpoint state holds. */
export interface KillTestState {
  step: number;
  note: string;
}

/** How many weight tensors a checkpoint holds. */
export const WEIGHT_TENSORS = 20;
/** Float32 elements per weight tensor: 1 MiB each, 20 MiB in all. */
export const WEIGHT_COUNT = 256 * 1024;

/** The name of weight tensor `j`. */
export function weightName(j: number): string {
  return `weights.${String(j).padStart(2, '0')}`;
}

/** The value of weights[i] at `step`. */
export function weightAt(step: number, i: number): number {
  return step + (i % 1024);
}

function main(file: string, seconds: number): void {
  const deadline = Date.now() + seconds * 1000;
  let step = fs.existsSync(file) ? loadCheckpoint<KillTestState>(file).state.step + 1 : 1;
  const weights = new Float32Array(WEIGHT_COUNT);
  for (; Date.now() < deadline; step++) {
    const start = Date.now();
    for (let i = 0; i < WEIGHT_COUNT; i++) weights[i] = weightAt(step, i);
    const tensors: Record<string, TensorToWrite> = { step: { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(step)) } };
    for (let j = 0; j < WEIGHT_TENSORS; j++) tensors[weightName(j)] = { dtype: 'F32', shape: [WEIGHT_COUNT / 1024, 1024], data: weights };
    saveCheckpoint<KillTestState>(file, tensors, { step, note: `step ${step}` });
    fs.writeSync(1, `${step} ${Date.now() - start}\n`);
  }
}

if (require.main === module) main(process.argv[2], Number(process.argv[3] ?? 30));
