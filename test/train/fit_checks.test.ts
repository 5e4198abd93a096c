import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AbortError, createModel, makeSchedule, SGD, Trainer, type BatchSource, type TrainBatch, type TrainerOptions } from '../../lib';
import { BatchLoader, type ImageDataset } from '../../lib/data';
import { DivergenceWatch } from '../../lib/train/divergence';
import { rejected, tempDir } from '../data/helpers';
import { stripes, TINY } from './tiny';

// What fit() finds wrong with its data it says before the first step, with a code; what it
// trains on is exactly what it was given; what it writes is what it has done.

const AUG = { cropPadding: 0, flip: false, mean: [0.4], std: [0.25] };

function setup(options: TrainerOptions = {}) {
  const model = createModel(TINY, { device: 'cpu', seed: 1 });
  const sgd = new SGD(model, { lr: 0.05, momentum: 0.9 });
  const steps: number[] = [];
  const trainer = new Trainer(model, sgd, { progress: 'none', onBatchEnd: (b) => steps.push(b.globalStep), ...options });
  const close = () => {
    trainer.dispose();
    sgd.dispose();
    model.dispose();
  };
  return { model, sgd, trainer, steps, close };
}

const loader = (ds: ImageDataset, batchSize: number, dropLast?: boolean) =>
  new BatchLoader(ds, { batchSize, shuffle: true, augment: AUG, seed: 1, workers: 0, dropLast });

test('a last batch of one image is refused before training, naming dropLast; with dropLast the epoch trains', async (t) => {
  // 33 images in batches of 16: the third batch holds one, which batch norm cannot train on.
  const s = setup();
  const e = await rejected(s.trainer.fit({ train: loader(stripes(33, 1), 16), imageSize: [8, 8], epochs: 1 }));
  t.is(e.code, 'SENET_ARGUMENT');
  t.regex(e.message, /Trainer\.fit: train: expected batches of at least 2 images .*received a batch of 1 .*dropLast: true/);
  t.deepEqual(s.steps, [], 'nothing trained');
  const r = await s.trainer.fit({ train: loader(stripes(33, 1), 16, true), imageSize: [8, 8], epochs: 1 });
  t.is(r.history.length, 1);
  t.deepEqual(s.steps, [1, 2]);
  s.close();
});

test('sources of no batches, of another image size or channel count are refused before training', async (t) => {
  const s = setup();
  const none = await rejected(s.trainer.fit({ train: loader(stripes(10, 1), 16, true), imageSize: [8, 8], epochs: 1 }));
  t.is(none.code, 'SENET_ARGUMENT');
  t.regex(none.message, /train: expected at least one batch per epoch, received none/);
  const big: ImageDataset = { ...stripes(16, 2), name: 'big', height: 16, width: 4 };
  const wrong = await rejected(s.trainer.fit({ train: loader(stripes(32, 1), 16), test: loader(big, 16), imageSize: [8, 8], epochs: 1 }));
  t.is(wrong.code, 'SENET_SHAPE');
  t.regex(wrong.message, /Trainer\.fit: test images: expected 8x8x1 \(imageSize and the model's inChannels\), received 16x4x1/);
  const rgbLoader = new BatchLoader({ ...stripes(32, 1), images: new Uint8Array(32 * 64 * 3), channels: 3 }, { batchSize: 16, shuffle: false, augment: null, seed: 0, workers: 0 });
  const rgb = await rejected(s.trainer.fit({ train: rgbLoader, imageSize: [8, 8], epochs: 1 }));
  t.is(rgb.code, 'SENET_SHAPE');
  t.deepEqual(s.steps, [], 'nothing trained');
  s.close();
});

test('a batch of more values than its size says is SENET_SHAPE, not cut to fit', async (t) => {
  // A source of 16x4 images fed as 8x8 has the right count; one of 12x8 has more, and was cut.
  const ds = stripes(32, 1);
  const long: BatchSource = {
    batchesPerEpoch: 1,
    async *epoch(): AsyncIterableIterator<TrainBatch> {
      yield { images: new Float32Array(16 * 12 * 8), labels: Int32Array.from(ds.labels.subarray(0, 16)), size: 16, index: 0 };
    },
  };
  const s = setup();
  const e = await rejected(s.trainer.fit({ train: long, imageSize: [8, 8], epochs: 1 }));
  t.is(e.code, 'SENET_SHAPE');
  t.regex(e.message, /Trainer: epoch 1, batch 1: batch\.images: expected a Float32Array of 16x8x8x1 = 1024 values .*received 1536 values/);
  s.close();
});

test('evaluate over no images is SENET_ARGUMENT, not a NaN accuracy', async (t) => {
  const s = setup();
  const empty: BatchSource = { batchesPerEpoch: 0, async *epoch() {} };
  const e = await rejected(s.trainer.evaluate(empty, [8, 8]));
  t.is(e.code, 'SENET_ARGUMENT');
  t.regex(e.message, /Trainer\.evaluate: source: expected at least one image/);
  s.close();
});

test('evaluate stops at the next batch when its signal aborts, and checks its options', async (t) => {
  const s = setup();
  const ac = new AbortController();
  ac.abort(new Error('enough'));
  const e = (await rejected(s.trainer.evaluate(loader(stripes(32, 1), 16), [8, 8], { signal: ac.signal }))) as unknown as AbortError;
  t.true(e instanceof AbortError);
  t.is(e.code, 'ABORT_ERR');
  t.is(e.step, 1);
  t.regex(e.message, /evaluation was aborted at batch 1/);
  t.is((e.cause as Error).message, 'enough');
  t.is((await rejected(s.trainer.evaluate(loader(stripes(32, 1), 16), [8, 8], { progress: 'loud' as 'none' }))).code, 'SENET_ARGUMENT');
  t.is((await rejected(s.trainer.evaluate(loader(stripes(32, 1), 16), [8, 8], { signal: {} as AbortSignal }))).code, 'SENET_ARGUMENT');
  const r = await s.trainer.evaluate(loader(stripes(32, 1), 16), [8, 8], { progress: 'none' });
  t.is(r.images, 32);
  s.close();
});

test('metrics.jsonl holds what the trainer has done: an older run there is replaced, and an epoch is listed only once its checkpoint is saved', async (t) => {
  const dir = tempDir('senet-fit-');
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '{"type":"epoch","epoch":1}\n{"type":"epoch","epoch":2}\n');
  const s = setup({ outDir: dir });
  await s.trainer.fit({ train: loader(stripes(32, 1), 16), test: loader(stripes(16, 3), 16), imageSize: [8, 8], epochs: 1 });
  const lines = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; epoch?: number });
  t.deepEqual(lines.map((l) => [l.type, l.epoch]), [['epoch', 1], ['test', undefined]]);
  s.close();

  // A checkpoint that cannot be written (a folder in its place) stops training before the
  // epoch's line is written.
  const blocked = tempDir('senet-fit-');
  fs.mkdirSync(path.join(blocked, 'checkpoint.safetensors', 'x'), { recursive: true });
  const b = setup({ outDir: blocked });
  const e = await rejected(b.trainer.fit({ train: loader(stripes(32, 1), 16), imageSize: [8, 8], epochs: 1 }));
  t.is(e.code, 'SENET_IO');
  t.is(fs.readFileSync(path.join(blocked, 'metrics.jsonl'), 'utf8'), '');
  b.close();
});

test('a NaN step names its likely cause: the weights it started from, or the learning rate', async (t) => {
  const s = setup();
  // A weight that is already NaN (set behind loadStateDict's back) is what the step started from.
  const values = s.model.params.values.toArray() as Float32Array;
  values[0] = NaN;
  s.model.params.values.set(values);
  const e = await rejected(s.trainer.fit({ train: loader(stripes(32, 1), 16), imageSize: [8, 8], epochs: 1 }));
  t.is(e.code, 'SENET_NAN');
  t.regex(e.message, /epoch 1, step 1 .*: the model's state already holds NaN or infinite values in conv1\.weight/);
  s.close();

  const hot = setup({ schedule: makeSchedule({ kind: 'constant', lr: 1e30 }) });
  const h = await rejected(hot.trainer.fit({ train: loader(stripes(64, 1), 16), imageSize: [8, 8], epochs: 1 }));
  t.is(h.code, 'SENET_NAN');
  t.regex(h.message, /the weights and data are finite, so the step diverged: lower the learning rate \(1\.00e\+30 at this step\)/);
  hot.close();
});

test('the divergence watch warns once when the loss stays at twice its start, not for one bad batch or a short climb', (t) => {
  const at = { epoch: 0, step: 0, steps: 1000, lr: 0.5 };
  const feed = (losses: number[], epochMean?: number) => {
    const w = new DivergenceWatch();
    const out = losses.map((l, i) => w.observe(l, { ...at, step: i }));
    if (epochMean !== undefined) out.push(w.observeEpoch(epochMean, 0, 0.25));
    return out.filter((m) => m !== undefined);
  };
  const start = new Array<number>(10).fill(2.3);
  const fill = (n: number, v: number) => new Array<number>(n).fill(v);
  t.deepEqual(feed([...start, ...fill(100, 1.5)], 1.5), [], 'a falling loss');
  t.deepEqual(feed([...start, 40, ...fill(100, 2)]), [], 'one bad batch');
  // The default run's climb during its warmup (its losses every 4 steps from step 40), then down.
  const climb = [3.4, 7.2, 8.0, 5.4, 2.9, 2.8, 4.8, 2.4, 2.7].flatMap((l) => fill(4, l));
  t.deepEqual(feed([...start, ...fill(30, 2.2), ...climb, ...fill(100, 1)], 0.9), [], 'a short climb');
  const climbing = feed([...start, ...Array.from({ length: 100 }, (_, i) => 2.3 + i * 0.1)]);
  t.is(climbing.length, 1);
  t.regex(climbing[0]!, /^warning: the training loss has climbed from 2\.30 \(its first 5 steps\) to \d+\.\d\d \(the median of the last 50 steps\) by epoch 1 step \d+\/1000, at learning rate 0\.500: the learning rate is likely too high/);
  // A run too short for the window (the 31 steps) is judged by its epoch's mean.
  const short = feed([...start, ...fill(21, 8)], 6.46);
  t.is(short.length, 1);
  t.regex(short[0]!, /to 6\.46 \(the mean of epoch 1\) by the end of epoch 1, at learning rate 0\.250/);
  t.deepEqual(feed([...start, NaN, Infinity, 2.3]), [], "non-finite losses are the NaN policy's");
});
