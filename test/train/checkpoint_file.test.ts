import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createModel, SGD, Trainer } from '../../lib';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../../lib/io';
import { loadTrainingCheckpoint } from '../../lib/train/checkpoint_file';
import { rejected, tempDir } from '../data/helpers';
import { stripes, TINY, tinyCheckpoint } from './tiny';

// A checkpoint is checked whole when it is read: every damaged or hand-edited field is an error
// naming the file and the field, at load, never a TypeError after an epoch or a silent misreading.

const good = tinyCheckpoint();

type State = Record<string, unknown> & { position: Record<string, unknown>; optimizer: Record<string, unknown> };

/** A copy of the good checkpoint with its state and tensors changed by `edit`. */
async function mutated(edit: (state: State, tensors: Record<string, TensorToWrite>) => void): Promise<string> {
  const file = await good;
  const { tensors, metadata } = readSafetensors(file);
  const state = JSON.parse(metadata['senet.checkpoint']!) as State;
  const out: Record<string, TensorToWrite> = {};
  for (const [name, t] of tensors) out[name] = { dtype: t.dtype, shape: t.shape, data: t.data.slice() };
  edit(state, out);
  const copy = path.join(tempDir('senet-ckfile-'), 'edited.safetensors');
  writeSafetensors(copy, out, { ...metadata, 'senet.checkpoint': JSON.stringify(state) });
  return copy;
}

async function refused(t: import('ava').ExecutionContext, file: string, code: string, pattern: RegExp): Promise<void> {
  const e = await rejected(loadTrainingCheckpoint(file));
  t.is(e.code, code, e.message);
  t.true(e.message.startsWith(file), `names the file: ${e.message}`);
  t.regex(e.message, pattern);
}

test('the good checkpoint loads', async (t) => {
  const ck = await loadTrainingCheckpoint(await good);
  t.is(ck.position.epoch, 1);
  t.is(ck.position.history.length, 1);
  t.true(ck.momentumBuffer instanceof Float32Array);
  t.true(ck.state.get('conv1.weight')!.data instanceof Float32Array);
  t.true(ck.state.get('bn1.num_batches_tracked')!.data instanceof BigInt64Array);
});

test('a tensor relabelled F32 -> I32 is refused naming it, not read as float32', async (t) => {
  const file = await mutated((_, tensors) => {
    tensors['model.conv1.weight'] = { ...tensors['model.conv1.weight']!, dtype: 'I32' };
  });
  await refused(t, file, 'SENET_STATE_DICT', /tensor 'model\.conv1\.weight': dtype: expected F32 \(I64 for a batch norm's num_batches_tracked\), received I32/);
});

test('hand-edited position fields are SENET_FORMAT naming the field, at load', async (t) => {
  const cases: [(s: State) => void, RegExp][] = [
    [(s) => (s.position['epoch'] = 'abc'), /position\.epoch: expected an integer in \[0, 1000000\], received string "abc"/],
    [(s) => (s.position['history'] = 'x'), /position\.history: expected an array of 1 epoch records/],
    [(s) => (s.position['history'] = []), /position\.history: expected an array of 1 epoch records .*received an array of length 0/],
    [(s) => ((s.position['history'] as Record<string, unknown>[])[0]!['trainLoss'] = 'low'), /position\.history\[0\]\.trainLoss: expected a finite number/],
    [(s) => (s.position['batch'] = -1), /position\.batch: expected an integer >= 0, received number -1/],
    [(s) => ((s.position['partial'] as Record<string, unknown>)['correct'] = 5), /position\.partial\.correct: expected an integer in \[0, 0\], received number 5/],
    [(s) => delete s.position['partial'], /position\.partial: expected an object, received undefined/],
    [(s) => delete (s as Record<string, unknown>)['optimizer'], /optimizer: expected an object, received undefined/],
    [(s) => (s.optimizer['stepCount'] = 1e9), /optimizer\.stepCount: expected an integer in \[0, 2\]/],
    [(s) => (s.optimizer['nesterov'] = 'no'), /optimizer\.nesterov: expected a boolean/],
    [(s) => (s['schedule'] = { kind: 'cosine', lr: -1, epochs: 3, warmupEpochs: 0, minLr: 0 }), /schedule: lr: expected a number >= 0, received number -1/],
    [(s) => (s['config'] = { ...(s['config'] as object), layers: [] }), /config\.layers: expected a non-empty array of integers/],
    [(s) => (s['labelSmoothing'] = 2), /labelSmoothing: expected a number in \[0, 1\], received number 2/],
    [(s) => (s['info'] = null), /info: expected an object, received null/],
    [(s) => (s['format'] = 'senet-training/2'), /format: expected 'senet-training\/1'/],
  ];
  for (const [edit, pattern] of cases) await refused(t, await mutated(edit), 'SENET_FORMAT', pattern);
});

test('a NaN in the momentum buffer is refused naming the tensor; so is a tensor of no known name', async (t) => {
  const nan = await mutated((_, tensors) => {
    const buf = new Float32Array(Uint8Array.from(tensors['optimizer.momentum_buffer']!.data as Uint8Array).buffer);
    buf[3] = NaN;
    tensors['optimizer.momentum_buffer'] = { dtype: 'F32', shape: [buf.length], data: buf };
  });
  await refused(t, nan, 'SENET_STATE_DICT', /tensor 'optimizer\.momentum_buffer': value 3: expected a finite number, received NaN/);
  const extra = await mutated((_, tensors) => {
    tensors['foo'] = { dtype: 'F32', shape: [1], data: new Float32Array(1) };
  });
  await refused(t, extra, 'SENET_STATE_DICT', /tensor 'foo': name: expected 'model\.…' or 'optimizer\.momentum_buffer'/);
});

test('a checkpoint of another network is refused by restore() with SENET_STATE_DICT before anything changes', async (t) => {
  const file = await good;
  const model = createModel({ ...TINY, channels: [8, 32] }, { device: 'cpu', seed: 1 });
  const sgd = new SGD(model, { lr: 0.05, momentum: 0.9 });
  const trainer = new Trainer(model, sgd, { progress: 'none' });
  const e = await rejected(trainer.restore(file));
  t.is(e.code, 'SENET_STATE_DICT');
  t.regex(e.message, /config: expected the model's/);
  t.is(trainer.state.globalStep, 0);
  trainer.dispose();
  sgd.dispose();
  model.dispose();
});

test('an epoch whose every step was skipped (NaN metrics) still checkpoints, and reads back as NaN', async (t) => {
  const dir = tempDir('senet-ckfile-');
  const model = createModel(TINY, { device: 'cpu', seed: 1 });
  const sgd = new SGD(model, { lr: 0.05 });
  const trainer = new Trainer(model, sgd, { outDir: dir, progress: 'none', nonFinite: 'skip' });
  const ds = stripes(32, 1);
  const source = {
    batchesPerEpoch: 2,
    async *epoch(_e: number, start = 0) {
      for (let b = start; b < 2; b++) {
        const images = new Float32Array(16 * 64).fill(NaN);
        yield { images, labels: Int32Array.from(ds.labels.subarray(b * 16, b * 16 + 16)), size: 16, index: b };
      }
    },
  };
  const r = await trainer.fit({ train: source, imageSize: [8, 8], epochs: 1 });
  t.is(r.history[0]!.skippedSteps, 2);
  const ck = await loadTrainingCheckpoint(path.join(dir, 'checkpoint.safetensors'));
  t.true(Number.isNaN(ck.position.history[0]!.trainLoss));
  t.true(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').includes('"trainLoss":null'));
  trainer.dispose();
  sgd.dispose();
  model.dispose();
});
