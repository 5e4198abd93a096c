import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { createModel, SGD, Trainer } from '../../lib';
import { BatchLoader, loadImageFolder, loadImageFolderSplits, splitValidation } from '../../lib/data';
import { tempDir } from './helpers';

const CLASSES = ['blue', 'green', 'red'];

/** A folder of small PNG / JPEG / WebP images of varying sizes, one colour dominant per class. */
async function writeFolder(root: string, perClass: number, seed = 1): Promise<void> {
  let s = seed;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (const [ci, c] of CLASSES.entries()) {
    fs.mkdirSync(path.join(root, c), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const w = 10 + Math.floor(rnd() * 8), h = 10 + Math.floor(rnd() * 8);
      const px = Buffer.alloc(w * h * 3);
      for (let p = 0; p < w * h; p++) for (let k = 0; k < 3; k++) px[p * 3 + k] = Math.floor(rnd() * 110) + (k === 2 - ci ? 130 : 0);
      const img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
      const fmt = (['png', 'jpeg', 'webp'] as const)[i % 3]!;
      await img[fmt]().toFile(path.join(root, c, `im${String(i).padStart(3, '0')}.${fmt === 'jpeg' ? 'jpg' : fmt}`));
    }
  }
  fs.writeFileSync(path.join(root, 'red', 'notes.txt'), 'not an image: skipped');
}

const TINY = { layers: [1, 1], channels: [8, 16], cardinality: 2, baseWidth: 16, stemWidth: 8, stem: 'cifar' as const, inChannels: 3, numClasses: 3 };
const NORM = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };

test('an image folder lists root/<class>/* with classes and files sorted, Int32 labels, and splits', async (t) => {
  const root = tempDir('senet-folder-');
  await writeFolder(root, 5);
  const ds = await loadImageFolder(root, { size: 8 });
  t.deepEqual(ds.classes, CLASSES);
  t.is(ds.count, 15);
  t.true(ds.labels instanceof Int32Array);
  t.deepEqual(Array.from(ds.labels), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
  t.deepEqual(ds.files.slice(0, 2).map((f) => path.basename(f)), ['im000.png', 'im001.jpg']);
  t.deepEqual([ds.height, ds.width, ds.channels], [8, 8, 3]);
  const { train, val } = splitValidation(ds, 3, 0);
  t.is(train.count + val.count, 15);
  t.is(val.files.length, 3);
  // train/ val/ test/ subfolders; a class in val that train lacks is an error.
  const split = tempDir('senet-folder-splits-');
  await writeFolder(path.join(split, 'train'), 2);
  await writeFolder(path.join(split, 'val'), 1, 2);
  const s = await loadImageFolderSplits(split, { size: [6, 9], channels: 1 });
  t.is(s.train.count, 6);
  t.is(s.val?.count, 3);
  t.is(s.test, null);
  fs.mkdirSync(path.join(split, 'val', 'purple'));
  await t.throwsAsync(loadImageFolderSplits(split, { size: 6 }), { code: 'SENET_FORMAT' });
  await t.throwsAsync(loadImageFolder(path.join(root, 'nope'), { size: 8 }), { code: 'SENET_IO' });
  await t.throwsAsync(loadImageFolder(path.join(root, 'red'), { size: 8 }), { code: 'SENET_IO' }, 'no class subfolders');
  await t.throwsAsync(loadImageFolder(root, { size: 0 }), { code: 'SENET_ARGUMENT' });
});

test('batches of an image folder are decoded per batch, the same in worker threads and on the main thread', async (t) => {
  const root = tempDir('senet-folder-batch-');
  await writeFolder(root, 6);
  const ds = await loadImageFolder(root, { size: 12 });
  const augment = { cropPadding: 2, flip: true, ...NORM };
  const epochs = async (workers: number) => {
    const loader = new BatchLoader(ds, { batchSize: 5, shuffle: true, augment, seed: 3, workers });
    const out = [];
    for (const e of [0, 1]) for await (const b of loader.epoch(e)) out.push({ images: Array.from(b.images), labels: Array.from(b.labels) });
    await loader.close();
    return out;
  };
  const [inWorkers, onMain] = [await epochs(2), await epochs(0)];
  t.is(inWorkers.length, 8);
  t.deepEqual(inWorkers, onMain);
  t.notDeepEqual(inWorkers[0], inWorkers[4], 'epochs differ');
  const bad = { ...ds, files: [...ds.files.slice(0, 4), path.join(root, 'red', 'notes.txt')], labels: ds.labels.slice(0, 5), count: 5 };
  const loader = new BatchLoader(bad, { batchSize: 5, shuffle: false, augment: null, seed: 0 });
  await t.throwsAsync(async () => {
    for await (const b of loader.epoch(0)) void b;
  }, { code: 'SENET_FORMAT' });
  await loader.close();
});

test('a model learns an image folder: the Trainer, then senet train --dataset folder, predict --json, eval and export', async (t) => {
  const root = tempDir('senet-folder-learn-');
  await writeFolder(root, 60);
  const ds = await loadImageFolder(root, { size: 8 });
  const { train, val } = splitValidation(ds, 30, 1);
  const model = createModel(TINY, { device: 'cpu', seed: 2 });
  const sgd = new SGD(model, { lr: 0.05, momentum: 0.9 });
  const trainer = new Trainer(model, sgd, { progress: 'none' });
  const loader = (d: typeof train, shuffle: boolean) => new BatchLoader(d, { batchSize: 16, shuffle, augment: { cropPadding: 0, flip: false, ...NORM }, seed: 0 });
  const [tl, vl] = [loader(train, true), loader(val, false)];
  const r = await trainer.fit({ train: tl, val: vl, imageSize: [8, 8], epochs: 4 });
  await Promise.all([tl.close(), vl.close()]);
  t.true(r.history[3]!.valAccuracy! > 0.9, `validation accuracy ${r.history[3]!.valAccuracy}`);
  trainer.dispose();
  sgd.dispose();
  model.dispose();

  // The command, on a smaller folder (what is checked here is the plumbing, not the learning).
  const small = tempDir('senet-folder-cli-');
  await writeFolder(small, 20, 5);
  const cli = path.join(__dirname, '..', '..', 'lib', 'cli.js');
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  const out = path.join(tempDir('senet-folder-run-'), 'run');
  const tr = run('train', '--dataset', 'folder', '--data', small, '--size', '8', '--stem', 'cifar', '--epochs', '1', '--batch-size', '18', '--lr', '0.05', '--out', out, '--progress', 'none', '--json');
  t.is(tr.status, 0, tr.stderr);
  t.regex(tr.stderr, /folder: 54 training \/ 6 validation \/ 0 test images/);
  const ck = path.join(out, 'checkpoint.safetensors');
  const red = path.join(small, 'red', 'im000.png');
  const blue = path.join(small, 'blue', 'im001.jpg');
  const pr = run('predict', '--checkpoint', ck, '--top-k', '2', '--json', red, blue);
  t.is(pr.status, 0, pr.stderr);
  const lines = pr.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; top: { label: string; index: number; probability: number }[] });
  t.is(lines.length, 2);
  t.is(lines[0]!.file, red);
  t.is(lines[0]!.top.length, 2);
  t.true(CLASSES.includes(lines[0]!.top[0]!.label));
  const ev = run('eval', '--checkpoint', ck, '--data', small, '--json');
  t.is(ev.status, 0, ev.stderr);
  t.is((JSON.parse(ev.stdout.trim()) as { images: number }).images, 60);
  const weights = path.join(out, 'weights.safetensors');
  t.is(run('export', '--checkpoint', ck, '--format', 'safetensors', '--out', weights).status, 0);
  const again = run('predict', '--checkpoint', weights, '--top-k', '2', '--json', red, blue);
  t.deepEqual(again.stdout, pr.stdout, 'the exported weights predict the same');
  const onnx = path.join(out, 'model.onnx');
  const ex = run('export', '--checkpoint', ck, '--format', 'onnx', '--out', onnx);
  t.is(ex.status, 0, ex.stderr);
  t.true(fs.statSync(onnx).size > 1000);
  t.is(run('export', '--checkpoint', ck, '--format', 'tflite', '--out', onnx).status, 2);
  const missing = run('predict', '--checkpoint', ck, path.join(small, 'nope.png'));
  t.is(missing.status, 1);
  t.regex(missing.stderr, /\[SENET_IO\]/);
  t.is(run('predict', '--checkpoint', ck).status, 2, 'no images is a usage error');
});
