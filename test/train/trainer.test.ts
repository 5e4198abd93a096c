import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel, getNumThreads, setNumThreads, SGD, Trainer, cosineLR, type BatchSource, type TrainBatch, type StateDict } from '../../lib';
import { BatchLoader, type Batch, type ByteBatch } from '../../lib/data';
import { stripes, TINY } from './tiny';

// Bit-identical runs need a team of threads whose size does not change (the default one follows
// the machine's load, and the tests run beside each other).
test.before(() => setNumThreads(getNumThreads()));

const AUG = { cropPadding: 1, flip: false, mean: [0.4], std: [0.25] };

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'senet-train-'));
}

function sameState(a: StateDict, b: StateDict): string[] {
  const diff: string[] = [];
  for (const [k, v] of a) {
    const w = b.get(k)!.data;
    for (let i = 0; i < v.data.length; i++) if (v.data[i] !== w[i]) {
      diff.push(k);
      break;
    }
  }
  return diff;
}

test('fit learns an easy task and writes metrics.jsonl, curves.svg and a checkpoint', async (t) => {
  const out = tmpdir();
  const model = createModel(TINY, { device: 'cpu', seed: 1 });
  const sgd = new SGD(model, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
  const batches: number[] = [];
  const epochs: number[] = [];
  const trainer = new Trainer(model, sgd, {
    schedule: cosineLR(0.1, 4, 0.5),
    outDir: out,
    progress: 'none',
    onBatchEnd: (b) => batches.push(b.loss),
    onEpochEnd: (m) => epochs.push(m.epoch),
  });
  const train = new BatchLoader(stripes(96, 1), { batchSize: 16, shuffle: true, augment: AUG, seed: 3, workers: 0 });
  const val = new BatchLoader(stripes(32, 2), { batchSize: 16, shuffle: false, augment: { ...AUG, cropPadding: 0 }, seed: 0, workers: 0 });
  const test_ = new BatchLoader(stripes(40, 3), { batchSize: 16, shuffle: false, augment: { ...AUG, cropPadding: 0 }, seed: 0, workers: 0 });
  const r = await trainer.fit({ train, val, test: test_, imageSize: [8, 8], epochs: 4 });
  t.is(r.history.length, 4);
  t.deepEqual(epochs, [1, 2, 3, 4]);
  t.is(batches.length, 4 * 6);
  t.true(r.history[3]!.trainAccuracy > 0.9, `train accuracy ${r.history[3]!.trainAccuracy}`);
  t.true((r.testAccuracy ?? 0) > 0.9, `test accuracy ${r.testAccuracy}`);
  t.true(r.history[3]!.trainLoss < r.history[0]!.trainLoss);
  const lines = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.is(lines.filter((l) => l['type'] === 'epoch').length, 4);
  t.is(lines[4]!['type'], 'test');
  t.true(typeof lines[0]!['valAccuracy'] === 'number');
  const svg = fs.readFileSync(path.join(out, 'curves.svg'), 'utf8');
  t.regex(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  t.is((svg.match(/<polyline/g) ?? []).length, 4);
  t.true(fs.existsSync(path.join(out, 'checkpoint.safetensors')));
  trainer.dispose();
  sgd.dispose();
  model.dispose();
});

test('resume continues exactly: N steps straight equal N/2 + checkpoint + N/2', async (t) => {
  const ds = stripes(48, 5); // 3 batches per epoch: the checkpoint falls mid-epoch
  const run = async (dir: string, maxSteps: number, resume?: string): Promise<StateDict> => {
    const model = createModel(TINY, { device: 'cpu', seed: 7 });
    const sgd = new SGD(model, { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
    const trainer = new Trainer(model, sgd, { schedule: cosineLR(0.05, 4, 1), outDir: dir, progress: 'none', checkpointEverySteps: 4 });
    if (resume) await trainer.restore(resume);
    const loader = new BatchLoader(ds, { batchSize: 16, shuffle: true, augment: AUG, seed: 9, workers: 1 });
    try {
      await trainer.fit({ train: loader, imageSize: [8, 8], epochs: 4, maxSteps });
      return model.stateDict();
    } finally {
      await loader.close();
      trainer.dispose();
      sgd.dispose();
      model.dispose();
    }
  };
  const straight = await run(tmpdir(), 8);
  const dir = tmpdir();
  await run(dir, 4);
  const ck = path.join(dir, 'checkpoint.safetensors');
  t.true(fs.existsSync(ck));
  const resumed = await run(tmpdir(), 8, ck);
  t.deepEqual(sameState(resumed, straight), [], 'every weight, BN buffer and counter bit-identical');
  t.is(Number(resumed.get('bn1.num_batches_tracked')!.data[0]), 8);
});

test('an AbortSignal stops fit at a step boundary, after a checkpoint that resumes exactly', async (t) => {
  const ds = stripes(48, 5); // 3 batches per epoch
  const make = (dir: string, extra: Partial<ConstructorParameters<typeof Trainer>[2]> = {}) => {
    const model = createModel(TINY, { device: 'cpu', seed: 7 });
    const sgd = new SGD(model, { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
    const trainer = new Trainer(model, sgd, { schedule: cosineLR(0.05, 4, 1), outDir: dir, progress: 'none', ...extra });
    const loader = new BatchLoader(ds, { batchSize: 16, shuffle: true, augment: AUG, seed: 9, workers: 0 });
    const close = async () => {
      await loader.close();
      trainer.dispose();
      sgd.dispose();
      model.dispose();
    };
    return { model, trainer, loader, close };
  };
  const straight = make(tmpdir());
  await straight.trainer.fit({ train: straight.loader, imageSize: [8, 8], epochs: 3 });
  const want = straight.model.stateDict();
  await straight.close();

  // Overlapped steps (the default): step 5 is already queued when step 4's callback aborts, and
  // it runs; one step at a time, the abort stops right after the step whose callback gave it.
  for (const [overlapSteps, abortAt, message] of [[true, 4, /aborted at epoch 2\/3 step 3/], [false, 5, /aborted at epoch 2\/3 step 3/], [true, 5, /aborted at the end of epoch 2\/3/]] as const) {
    const dir = tmpdir();
    const controller = new AbortController();
    const first = make(dir, { overlapSteps, onBatchEnd: (b) => b.globalStep === abortAt && controller.abort(new Error('enough')) });
    const err = (await t.throwsAsync(first.trainer.fit({ train: first.loader, imageSize: [8, 8], epochs: 3, signal: controller.signal }))) as Error & { code?: string; checkpoint?: string; cause?: unknown };
    await first.close();
    t.is(err.name, 'AbortError');
    t.is(err.code, 'ABORT_ERR');
    t.is((err.cause as Error).message, 'enough');
    t.regex(err.message, message);
    t.is(err.checkpoint, path.join(dir, 'checkpoint.safetensors'));

    const second = make(tmpdir());
    await second.trainer.restore(err.checkpoint!);
    t.is(second.trainer.state.globalStep, overlapSteps ? abortAt + 1 : abortAt);
    await second.trainer.fit({ train: second.loader, imageSize: [8, 8], epochs: 3 });
    t.deepEqual(sameState(second.model.stateDict(), want), [], `interrupted (overlapSteps ${overlapSteps}, abort at ${abortAt}) and resumed = straight, bit for bit`);
    await second.close();
  }

  const already = new AbortController();
  already.abort();
  const third = make(tmpdir());
  const e3 = (await t.throwsAsync(third.trainer.fit({ train: third.loader, imageSize: [8, 8], epochs: 1, signal: already.signal }))) as Error;
  t.is(e3.name, 'AbortError');
  t.is(third.trainer.state.globalStep, 0, 'an aborted signal trains nothing');
  await third.close();
});

function nonFiniteEntries(d: StateDict): string[] {
  return [...d].filter(([, v]) => v.data instanceof Float32Array && v.data.some((x) => !Number.isFinite(x))).map(([k]) => k);
}

// A source whose second batch holds a NaN pixel; `keep` lists the batches it yields (all three by default).
class PoisonedSource implements BatchSource {
  readonly batchesPerEpoch: number;
  constructor(private readonly keep: readonly number[] = [0, 1, 2]) {
    this.batchesPerEpoch = keep.length;
  }
  async *epoch(_epoch: number, start = 0): AsyncIterableIterator<TrainBatch> {
    const ds = stripes(48, 4);
    for (let i = start; i < this.keep.length; i++) {
      const b = this.keep[i]!;
      const images = new Float32Array(16 * 64);
      for (let j = 0; j < images.length; j++) images[j] = ds.images[b * 16 * 64 + j]! / 255;
      if (b === 1) images[5] = NaN;
      yield { images, labels: Int32Array.from(ds.labels.subarray(b * 16, b * 16 + 16)), size: 16, index: i };
    }
  }
}

// The step after the poisoned one is queued before the poisoned one's loss is read: the device
// must undo or skip both itself, and the host's counts must follow.
test('a non-finite step is undone on the device although the next one is already queued', async (t) => {
  const train = async (keep: readonly number[], nonFinite: 'error' | 'skip', overlapSteps = true) => {
    const model = createModel(TINY, { device: 'cpu', seed: 3 });
    const sgd = new SGD(model, { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
    const trainer = new Trainer(model, sgd, { progress: 'none', nonFinite, overlapSteps });
    const error = await trainer.fit({ train: new PoisonedSource(keep), imageSize: [8, 8], epochs: 1 }).then(() => undefined, (e: unknown) => e as Error & { code?: string });
    const out = { state: model.stateDict(), steps: sgd.stepCount, momentum: sgd.state().momentumBuffer!, error, globalStep: trainer.state.globalStep };
    trainer.dispose();
    sgd.dispose();
    model.dispose();
    return out;
  };
  const sameRun = (a: Awaited<ReturnType<typeof train>>, b: Awaited<ReturnType<typeof train>>, what: string) => {
    t.deepEqual(sameState(a.state, b.state), [], `${what}: weights, running statistics and num_batches_tracked`);
    t.is(a.steps, b.steps, `${what}: the optimizer's step count`);
    t.deepEqual(a.momentum, b.momentum, `${what}: the momentum buffer`);
  };
  const failed = await train([0, 1, 2], 'error');
  t.is(failed.error?.code, 'SENET_NAN');
  t.is(failed.globalStep, 1);
  sameRun(failed, await train([0], 'error'), "'error' = the steps before it alone");
  const skipped = await train([0, 1, 2], 'skip');
  t.is(skipped.error, undefined);
  sameRun(skipped, await train([0, 2], 'skip'), "'skip' = a run without that batch");
  sameRun(skipped, await train([0, 1, 2], 'skip', false), "'skip' overlapped = one step at a time");
});

test('a NaN loss stops training with an error naming epoch and step, or is skipped when asked', async (t) => {
  const model = createModel(TINY, { device: 'cpu', seed: 1 });
  const sgd = new SGD(model, { lr: 0.1 });
  const strict = new Trainer(model, sgd, { progress: 'none' });
  const err = await t.throwsAsync(strict.fit({ train: new PoisonedSource(), imageSize: [8, 8], epochs: 1 }));
  t.is((err as { code?: string }).code, 'SENET_NAN');
  t.regex(err!.message, /epoch 1, step 2/);
  const before = model.stateDict();
  t.deepEqual(nonFiniteEntries(before), [], 'the failed step left the model as it was');
  const lenient = new Trainer(model, sgd, { progress: 'none', nonFinite: 'skip' });
  const r = await lenient.fit({ train: new PoisonedSource(), imageSize: [8, 8], epochs: 1 });
  t.is(r.history[0]!.skippedSteps, 1);
  t.true(Number.isFinite(r.history[0]!.trainLoss));
  const after = model.stateDict();
  t.true(sameState(after, before).length > 0, 'the other steps trained');
  t.deepEqual(nonFiniteEntries(after), [], 'weights and running statistics stay finite');
  strict.dispose();
  lenient.dispose();
  sgd.dispose();
  model.dispose();
});

test('plain progress lines when the output is not a terminal', async (t) => {
  const chunks: string[] = [];
  const stream = { isTTY: false, write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WriteStream;
  const model = createModel(TINY, { device: 'cpu', seed: 2 });
  const sgd = new SGD(model, { lr: 0.05, momentum: 0.9 });
  const trainer = new Trainer(model, sgd, { stream });
  const train = new BatchLoader(stripes(64, 1), { batchSize: 8, shuffle: true, augment: AUG, seed: 1, workers: 0 });
  await trainer.fit({ train, imageSize: [8, 8], epochs: 2 });
  const text = chunks.join('');
  t.regex(text, /epoch 1\/2 {2}step \d+\/8 {2}loss \d+\.\d+ {2}acc \d+\.\d% {2}\d+ img\/s {2}eta/);
  t.regex(text, /epoch 2\/2: train loss \d+\.\d+ acc \d+\.\d+%/);
  trainer.dispose();
  sgd.dispose();
  model.dispose();
});

test('training on byte batches normalised on the device equals training on float batches, bit for bit', async (t) => {
  const run = async (bytes: boolean) => {
    const model = createModel(TINY, { device: 'cpu', seed: 4 });
    const sgd = new SGD(model, { lr: 0.05, momentum: 0.9 });
    const trainer = new Trainer(model, sgd, { progress: 'none' });
    const loader = new BatchLoader<Batch | ByteBatch>(stripes(40, 2), { batchSize: 8, shuffle: true, augment: AUG, seed: 3, workers: 0, dropLast: true, bytes });
    const r = await trainer.fit({ train: loader, val: loader, imageSize: [8, 8], epochs: 2 });
    const state = model.stateDict();
    await loader.close();
    trainer.dispose();
    sgd.dispose();
    model.dispose();
    return { r, state };
  };
  const floats = await run(false);
  const bytes = await run(true);
  t.deepEqual(sameState(bytes.state, floats.state), []);
  t.deepEqual(bytes.r.history.map((h) => [h.trainLoss, h.valLoss]), floats.r.history.map((h) => [h.trainLoss, h.valLoss]));
  // A byte batch without its table is refused before anything runs.
  const model = createModel(TINY, { device: 'cpu', seed: 4 });
  const sgd = new SGD(model, { lr: 0.05 });
  const trainer = new Trainer(model, sgd, { progress: 'none' });
  const source: BatchSource = {
    batchesPerEpoch: 1,
    async *epoch() {
      yield { images: new Uint8Array(2 * 64), labels: Int32Array.of(0, 1), size: 2, index: 0 };
    },
  };
  const e = await t.throwsAsync(trainer.fit({ train: source, imageSize: [8, 8], epochs: 1 }));
  t.is((e as { code?: string }).code, 'SENET_ARGUMENT');
  t.regex(e!.message, /batch\.normalize: expected a Float32Array of 1x256 values/);
  trainer.dispose();
  sgd.dispose();
  model.dispose();
});

// With overlapped steps, whatever stops or interrupts the loop must leave the position, the step
// count and the weights in agreement: fit() again, or a resume, then ends where a straight run does.
test('a callback that throws, a source that fails, or a checkpoint asked for mid-step leave a consistent, resumable state', async (t) => {
  const ds = stripes(48, 6); // 6 batches of 8 per epoch
  const make = (extra: Partial<ConstructorParameters<typeof Trainer>[2]> = {}, outDir?: string) => {
    const model = createModel(TINY, { device: 'cpu', seed: 8 });
    const sgd = new SGD(model, { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
    const trainer = new Trainer(model, sgd, { progress: 'none', outDir, ...extra });
    const close = () => (trainer.dispose(), sgd.dispose(), model.dispose());
    return { model, sgd, trainer, close };
  };
  const loader = () => new BatchLoader(ds, { batchSize: 8, shuffle: true, augment: AUG, seed: 2, workers: 0 });
  const consistent = (s: ReturnType<typeof make>, what: string) => {
    t.is(s.sgd.stepCount, s.trainer.state.globalStep, `${what}: the optimizer's steps = the position's`);
    t.is(Number(s.model.stateDict().get('bn1.num_batches_tracked')!.data[0]), s.trainer.state.globalStep, `${what}: num_batches_tracked = the position's`);
  };
  const straight = make();
  await straight.trainer.fit({ train: loader(), imageSize: [8, 8], epochs: 2 });
  const want = straight.model.stateDict();
  straight.close();

  // onBatchEnd throws once, at step 3 (step 4 is already queued, and runs).
  let thrown = false;
  const a = make({ onBatchEnd: (b) => { if (b.globalStep === 3 && !thrown) { thrown = true; throw new Error('callback'); } } });
  await t.throwsAsync(a.trainer.fit({ train: loader(), imageSize: [8, 8], epochs: 2 }), { message: 'callback' });
  consistent(a, 'after the callback threw');
  await a.trainer.fit({ train: loader(), imageSize: [8, 8], epochs: 2 });
  t.deepEqual(sameState(a.model.stateDict(), want), [], 'fit() again ends where the straight run does');
  a.close();

  // The source fails once, at batch 4 of the first epoch.
  let failed = false;
  const inner = loader();
  const flaky: BatchSource = {
    batchesPerEpoch: inner.batchesPerEpoch,
    async *epoch(epoch: number, start = 0) {
      for await (const batch of inner.epoch(epoch, start)) {
        if (epoch === 0 && batch.index === 3 && !failed) {
          failed = true;
          throw new Error('source');
        }
        yield batch;
      }
    },
  };
  const b = make();
  await t.throwsAsync(b.trainer.fit({ train: flaky, imageSize: [8, 8], epochs: 2 }), { message: 'source' });
  consistent(b, 'after the source failed');
  t.is(b.trainer.state.globalStep, 3);
  await b.trainer.fit({ train: flaky, imageSize: [8, 8], epochs: 2 });
  t.deepEqual(sameState(b.model.stateDict(), want), [], 'fit() again ends where the straight run does');
  b.close();

  // A checkpoint asked for in step 3's callback is written once step 4 is taken in.
  const dir = tmpdir();
  const file = path.join(dir, 'mid.safetensors');
  let saved: Promise<void> | undefined;
  const c = make({ onBatchEnd: (info) => { if (info.globalStep === 3) saved = c.trainer.saveCheckpoint(file); } }, dir);
  await c.trainer.fit({ train: loader(), imageSize: [8, 8], epochs: 2 });
  await saved;
  c.close();
  const d = make();
  await d.trainer.restore(file);
  t.is(d.trainer.state.globalStep, 4, 'the checkpoint holds the step queued when it was asked for');
  await d.trainer.fit({ train: loader(), imageSize: [8, 8], epochs: 2 });
  t.deepEqual(sameState(d.model.stateDict(), want), [], 'resumed from it = straight');
  d.close();
});
