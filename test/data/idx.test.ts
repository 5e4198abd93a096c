import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadMnist, loadFashionMnist, loadDataset } from '../../lib/data';
import { idxBytes, tempDir, thrown, writeFile, writeMnistDir, bytes } from './helpers';

// Every malformed file gives a SenetError with its code and the file's path; the process goes on
// (each case ends by loading a good directory).

const good = tempDir();
writeMnistDir(good, 30, 20, 5, 4, true);

function checkGood(t: { is(a: unknown, b: unknown): void }) {
  t.is(loadMnist(good).train.count, 30);
}

test('plain and gzipped IDX files load with their shapes, bytes and labels', (t) => {
  for (const gzip of [false, true]) {
    const dir = tempDir();
    const set = writeMnistDir(dir, 30, 20, 5, 4, gzip);
    const { train, test: tst } = loadMnist(dir);
    t.is(train.name, 'mnist/train');
    t.is(tst.name, 'mnist/test');
    t.deepEqual([train.count, train.height, train.width, train.channels], [30, 5, 4, 1]);
    t.deepEqual([tst.count, tst.height, tst.width, tst.channels], [20, 5, 4, 1]);
    t.deepEqual(Array.from(train.images), Array.from(set.trainImages));
    t.deepEqual(Array.from(train.labels), Array.from(set.trainLabels));
    t.deepEqual(Array.from(tst.images), Array.from(set.testImages));
    t.deepEqual(Array.from(tst.labels), Array.from(set.testLabels));
    t.is(train.classes.length, 10);
  }
});

test('a gzipped file without .gz in its name is still gunzipped; loadDataset dispatches', (t) => {
  const dir = tempDir();
  writeMnistDir(dir, 10, 10, 3, 3, true);
  for (const f of fs.readdirSync(dir)) fs.renameSync(path.join(dir, f), path.join(dir, f.replace(/\.gz$/, '')));
  const fm = loadFashionMnist(dir);
  t.is(fm.train.name, 'fashion-mnist/train');
  t.is(fm.train.classes[9], 'Ankle boot');
  t.is(loadDataset('mnist', dir).test.count, 10);
  t.is(thrown(() => loadDataset('imagenet' as 'mnist', dir)).code, 'SENET_ARGUMENT');
});

/** A copy of the good directory with `name` replaced by `contents` (plain, gzip removed). */
function withFile(name: string, contents: Uint8Array | null, gzip = false): { dir: string; file: string } {
  const dir = tempDir();
  for (const f of fs.readdirSync(good)) fs.copyFileSync(path.join(good, f), path.join(dir, f));
  fs.rmSync(path.join(dir, `${name}.gz`));
  const file = contents ? writeFile(dir, name, contents, gzip) : path.join(dir, name);
  return { dir, file };
}

function expectError(t: { is(a: unknown, b: unknown): void; true(a: boolean, m?: string): void }, dir: string, file: string, code: string, pattern: RegExp) {
  const e = thrown(() => loadMnist(dir));
  t.is(e.code, code);
  t.true(e.message.includes(file), `names ${file}: ${e.message}`);
  t.true(pattern.test(e.message), `${pattern}: ${e.message}`);
  checkGood(t);
}

test('missing file: SENET_IO with a hint', (t) => {
  const { dir, file } = withFile('t10k-labels-idx1-ubyte', null);
  expectError(t, dir, file, 'SENET_IO', /file not found.*--data DIR/);
  const e = thrown(() => loadFashionMnist(dir));
  t.regex(e.message, /apt-get install dataset-fashion-mnist/);
  t.is(thrown(() => loadFashionMnist(path.join(dir, 'nope'))).code, 'SENET_IO');
});

test('wrong magic: SENET_FORMAT', (t) => {
  // Labels magic in the image file.
  const { dir, file } = withFile('train-images-idx3-ubyte', idxBytes([30, 5, 4], bytes(600, 1), 0x801));
  expectError(t, dir, file, 'SENET_FORMAT', /expected IDX magic 0x00000803.*received magic 0x00000801/);
});

test('truncated data and truncated header: SENET_FORMAT', (t) => {
  const a = withFile('train-images-idx3-ubyte', idxBytes([30, 5, 4], bytes(599, 1)), true);
  expectError(t, a.dir, a.file, 'SENET_FORMAT', /expected 600 data bytes for 30x5x4, received 599 \(truncated\)/);
  const b = withFile('train-labels-idx1-ubyte', Uint8Array.from([0, 0, 8]));
  expectError(t, b.dir, b.file, 'SENET_FORMAT', /truncated/);
});

test('trailing bytes: SENET_FORMAT', (t) => {
  const { dir, file } = withFile('t10k-images-idx3-ubyte', idxBytes([20, 5, 4], bytes(403, 1)));
  expectError(t, dir, file, 'SENET_FORMAT', /received 3 trailing bytes/);
});

test('corrupt gzip: SENET_FORMAT', (t) => {
  const gz = fs.readFileSync(path.join(good, 'train-labels-idx1-ubyte.gz'));
  const cut = gz.subarray(0, gz.length - 12); // lost its end
  const { dir, file } = withFile('train-labels-idx1-ubyte', cut);
  expectError(t, dir, file, 'SENET_FORMAT', /expected a valid gzip stream/);
  const garbled = Buffer.from(gz);
  garbled.fill(0xaa, 10, 20);
  const b = withFile('train-labels-idx1-ubyte', garbled);
  expectError(t, b.dir, b.file, 'SENET_FORMAT', /gzip/);
});

test('image/label count mismatch: SENET_FORMAT', (t) => {
  const { dir, file } = withFile('train-labels-idx1-ubyte', idxBytes([29], new Uint8Array(29)), true);
  expectError(t, dir, file, 'SENET_FORMAT', /expected 30 labels, one per image of .*train-images-idx3-ubyte.gz, received 29/);
});

test('label out of range: SENET_FORMAT naming index and value', (t) => {
  const labels = new Uint8Array(30);
  labels[17] = 10;
  const { dir, file } = withFile('train-labels-idx1-ubyte', idxBytes([30], labels));
  expectError(t, dir, file, 'SENET_FORMAT', /label 17: expected a class in \[0, 9\], received 10/);
});

test('bad directory argument: SENET_ARGUMENT', (t) => {
  t.is(thrown(() => loadMnist('')).code, 'SENET_ARGUMENT');
  checkGood(t);
});
