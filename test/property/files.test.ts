import test from 'ava';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { createModel, SGD, Trainer } from '../../lib';
import { BatchLoader, checkSource, loadDataset } from '../../lib/data';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../../lib/io';
import { loadTrainingCheckpoint, type TrainingCheckpoint } from '../../lib/train/checkpoint_file';
import { idxBytes, tempDir, bytes } from '../data/helpers';
import { stripes, TINY, TINY_AUG as AUG, tinyCheckpoint } from '../train/tiny';
import { Outcomes, params } from './support';

// Mutated files: a checkpoint's bytes, its JSON state, and IDX datasets. Every case either loads
// into something the next steps (restore, a training step; a batch) accept, or is refused with an
// Error carrying a SENET_ code. Never another error, never a silent misreading.

const work = tempDir('senet-prop-files-');
let caseNo = 0;
const scratch = (name: string) => path.join(work, `${caseNo++}-${name}`);

/** A real checkpoint of TINY, one epoch of two steps in. */
const checkpoint = tinyCheckpoint().then((file) => fs.readFileSync(file));

/**
 * What a loaded checkpoint must survive: restoring into its network and training one more step.
 * Returns the stage that refused it ('restore' or 'train') with the code, or 'accepted'.
 */
async function useCheckpoint(ck: TrainingCheckpoint, outcomes: Outcomes, context: string): Promise<void> {
  const model = createModel(TINY, { device: 'cpu', seed: 2 });
  const sgd = new SGD(model, { lr: 0.05, momentum: ck.optimizer.momentum > 0 ? 0.9 : 0 });
  const trainer = new Trainer(model, sgd, { progress: 'none' });
  const train = new BatchLoader(stripes(32, 3), { batchSize: 16, shuffle: true, augment: AUG, seed: 1, workers: 0 });
  try {
    try {
      await trainer.restore(ck);
    } catch (err) {
      outcomes.refused(err, context, 'refused at restore');
      return;
    }
    try {
      await trainer.fit({ train, imageSize: [8, 8], epochs: ck.position.epoch + 1, maxSteps: ck.position.globalStep + 1 });
      outcomes.add('accepted');
    } catch (err) {
      outcomes.refused(err, context, 'refused at the next step');
    }
  } finally {
    await train.close();
    trainer.dispose();
    sgd.dispose();
    model.dispose();
  }
}

/** One change to a file's bytes. */
const byteMutation = (headerEnd: number) =>
  fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat({ max: headerEnd }), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('flipAnywhere' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat({ max: headerEnd }), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('digit' as const), at: fc.nat({ max: headerEnd }), digit: fc.integer({ min: 0, max: 9 }) }),
    fc.record({ kind: fc.constant('u32' as const), at: fc.nat({ max: headerEnd }), value: fc.oneof(fc.nat(), fc.constantFrom(0, 1, 0x7fffffff, 0xffffffff)) }),
  );
type ByteMutation = typeof byteMutation extends (n: number) => fc.Arbitrary<infer M> ? M : never;

function mutate(original: Uint8Array, m: ByteMutation): Buffer {
  const b = Buffer.from(original);
  const at = (i: number) => i % Math.max(1, b.length);
  switch (m.kind) {
    case 'flip':
    case 'flipAnywhere':
      b[at(m.at)] ^= 1 << m.bit;
      return b;
    case 'truncate':
      return b.subarray(0, at(m.at));
    case 'insert':
      return Buffer.concat([b.subarray(0, at(m.at)), m.bytes, b.subarray(at(m.at))]);
    case 'digit': {
      // The next ASCII digit from there becomes another: shapes, offsets, sizes, positions change.
      for (let i = at(m.at); i < b.length; i++) {
        if (b[i]! >= 0x30 && b[i]! <= 0x39) {
          b[i] = 0x30 + m.digit;
          break;
        }
      }
      return b;
    }
    case 'u32':
      if (b.length >= 4) b.writeUInt32BE(m.value >>> 0, Math.min(at(m.at), b.length - 4));
      return b;
  }
}

/** Loads a checkpoint file (then removes it) and uses it, or records the refusal. */
async function loadAndUse(file: string, outcomes: Outcomes, context: string): Promise<void> {
  let ck: TrainingCheckpoint;
  try {
    ck = await loadTrainingCheckpoint(file);
  } catch (err) {
    outcomes.refused(err, context);
    return;
  } finally {
    fs.rmSync(file, { force: true });
  }
  await useCheckpoint(ck, outcomes, context);
}

test('mutated checkpoint bytes load and train, or are refused with a code', async (t) => {
  const original = await checkpoint;
  const headerEnd = 8 + Number(original.readBigUInt64LE(0));
  const outcomes = new Outcomes();
  await fc.assert(
    fc.asyncProperty(byteMutation(headerEnd), async (m) => {
      const file = scratch('checkpoint.safetensors');
      fs.writeFileSync(file, mutate(original, m));
      const context = `checkpoint mutation ${JSON.stringify(m)}`;
      await loadAndUse(file, outcomes, context);
    }),
    params(150),
  );
  t.log(`checkpoint bytes: ${outcomes}`);
  t.true(outcomes.total >= 150);
});

/** Every path to a value in a JSON tree (objects and arrays), the root excluded. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object') return [];
  const keys = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return keys.flatMap((k) => [[...prefix, k], ...paths((v as Record<string | number, unknown>)[k], [...prefix, k])]);
}

test('hand-edited checkpoint state (any field set to any JSON value, or removed) loads and trains, or is refused with a code', async (t) => {
  const original = await checkpoint;
  const { tensors, metadata } = readSafetensors(original.length > 0 ? writeTemp(original) : '');
  const state = JSON.parse(metadata['senet.checkpoint']!) as unknown;
  const all = paths(state);
  const copy: Record<string, TensorToWrite> = {};
  for (const [name, v] of tensors) copy[name] = { dtype: v.dtype, shape: v.shape, data: v.data };
  const value = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(-1, 0, 0.5, 1.5, 1e9, 2 ** 53, -(2 ** 31), 'abc', '', null, [], {}, true),
  );
  const edit = fc.record({ path: fc.constantFrom(...all), value: fc.option(value, { nil: undefined, freq: 8 }) });
  const outcomes = new Outcomes();
  await fc.assert(
    fc.asyncProperty(edit, async ({ path: p, value: v }) => {
      const s = structuredClone(state) as Record<string | number, unknown>;
      let parent = s;
      for (const k of p.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
      const last = p[p.length - 1]!;
      if (v === undefined) delete parent[last];
      else parent[last] = v;
      const file = scratch('edited.safetensors');
      writeSafetensors(file, copy, { ...metadata, 'senet.checkpoint': JSON.stringify(s) });
      const context = `state edit ${p.join('.')} = ${JSON.stringify(v)}`;
      await loadAndUse(file, outcomes, context);
    }),
    params(200),
  );
  t.log(`checkpoint state: ${outcomes}`);
  t.true(outcomes.total >= 200);
});

function writeTemp(bytes: Uint8Array): string {
  const file = scratch('original.safetensors');
  fs.writeFileSync(file, bytes);
  return file;
}

const IDX_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

test('mutated IDX files load into a consistent dataset that batches, or are refused with a code', async (t) => {
  const labels = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 10);
  const files = [
    idxBytes([20, 5, 4], bytes(20 * 5 * 4, 1)),
    idxBytes([20], labels(20)),
    idxBytes([10, 5, 4], bytes(10 * 5 * 4, 2)),
    idxBytes([10], labels(10)),
  ];
  const outcomes = new Outcomes();
  const mutation = fc.record({ file: fc.integer({ min: 0, max: 3 }), gzip: fc.boolean(), m: byteMutation(16) });
  await fc.assert(
    fc.asyncProperty(mutation, async ({ file, gzip, m }) => {
      const dir = scratch('mnist');
      fs.mkdirSync(dir);
      files.forEach((bytes, i) => {
        const content = i === file ? mutate(bytes, m) : bytes;
        fs.writeFileSync(path.join(dir, gzip ? `${IDX_FILES[i]}.gz` : IDX_FILES[i]!), gzip ? zlib.gzipSync(content) : content);
      });
      const context = `IDX mutation of ${IDX_FILES[file]} ${JSON.stringify(m)}`;
      try {
        const { train, test: tst } = await loadDataset('mnist', dir, { maxBytes: 1 << 20 });
        // Accepted: consistent, non-empty, and it batches.
        for (const ds of [train, tst]) {
          checkSource(context, ds);
          if (ds.count < 1 || ds.labels.some((l) => l >= ds.classes.length)) throw new Error(`${context}: accepted an inconsistent dataset`);
        }
        if (train.height !== tst.height || train.width !== tst.width) throw new Error(`${context}: accepted splits of two sizes`);
        const loader = new BatchLoader(train, { batchSize: 4, shuffle: true, augment: null, seed: 0, workers: 0 });
        for await (const batch of loader.epoch(0)) if (batch.images.length !== batch.size * train.height * train.width) throw new Error(`${context}: a wrong batch`);
        await loader.close();
        outcomes.add('accepted');
      } catch (err) {
        outcomes.refused(err, context);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }),
    params(250),
  );
  t.log(`IDX files: ${outcomes}`);
  t.true(outcomes.total >= 250);
});
