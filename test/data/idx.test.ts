import test, { type ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadMnist, loadMnistSync, loadFashionMnist, loadFashionMnistSync, loadDataset, loadDatasetSync } from '../../lib/data';
import { bothErrors, idxBytes, rejected, tempDir, thrown, writeFile, writeMnistDir, bytes } from './helpers';

// Every malformed file gives a SenetError with its code and the file's path, from the blocking
// loader and from the non-blocking one alike; the process goes on (each case ends by loading a
// good directory).

const good = tempDir();
writeMnistDir(good, 30, 20, 5, 4, true);

async function checkGood(t: ExecutionContext) {
  t.is(loadMnistSync(good).train.count, 30);
  t.is((await loadMnist(good)).train.count, 30);
}

test('plain and gzipped IDX files load with their shapes, bytes and labels', async (t) => {
  for (const gzip of [false, true]) {
    const dir = tempDir();
    const set = writeMnistDir(dir, 30, 20, 5, 4, gzip);
    for (const { train, test: tst } of [loadMnistSync(dir), await loadMnist(dir)]) {
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
  }
});

test('a gzipped file without .gz in its name is still gunzipped; loadDataset dispatches', async (t) => {
  const dir = tempDir();
  writeMnistDir(dir, 10, 10, 3, 3, true);
  for (const f of fs.readdirSync(dir)) fs.renameSync(path.join(dir, f), path.join(dir, f.replace(/\.gz$/, '')));
  for (const fm of [loadFashionMnistSync(dir), await loadFashionMnist(dir)]) {
    t.is(fm.train.name, 'fashion-mnist/train');
    t.is(fm.train.classes[9], 'Ankle boot');
  }
  t.is(loadDatasetSync('mnist', dir).test.count, 10);
  t.is((await loadDataset('mnist', dir)).test.count, 10);
  t.is(thrown(() => loadDatasetSync('imagenet' as 'mnist', dir)).code, 'SENET_ARGUMENT');
  t.is((await rejected(loadDataset('imagenet' as 'mnist', dir))).code, 'SENET_ARGUMENT');
});

/** A copy of the good directory with `name` replaced by `contents` (plain, gzip removed). */
function withFile(name: string, contents: Uint8Array | null, gzip = false): { dir: string; file: string } {
  const dir = tempDir();
  for (const f of fs.readdirSync(good)) fs.copyFileSync(path.join(good, f), path.join(dir, f));
  fs.rmSync(path.join(dir, `${name}.gz`));
  const file = contents ? writeFile(dir, name, contents, gzip) : path.join(dir, name);
  return { dir, file };
}

/** Both loaders fail on `dir` with `code`, naming `file`, and their messages match `pattern`. */
async function expectError(t: ExecutionContext, dir: string, file: string, code: string, pattern: RegExp) {
  for (const e of await bothErrors(() => loadMnistSync(dir), () => loadMnist(dir))) {
    t.is(e.code, code);
    t.true(e.message.includes(file), `names ${file}: ${e.message}`);
    t.true(pattern.test(e.message), `${pattern}: ${e.message}`);
  }
  await checkGood(t);
}

test('missing file: SENET_IO with a hint', async (t) => {
  const { dir, file } = withFile('t10k-labels-idx1-ubyte', null);
  await expectError(t, dir, file, 'SENET_IO', /file not found.*--data DIR/);
  for (const e of await bothErrors(() => loadFashionMnistSync(dir), () => loadFashionMnist(dir))) {
    t.regex(e.message, /apt-get install dataset-fashion-mnist/);
  }
  const nope = path.join(dir, 'nope');
  for (const e of await bothErrors(() => loadFashionMnistSync(nope), () => loadFashionMnist(nope))) t.is(e.code, 'SENET_IO');
});

test('wrong magic: SENET_FORMAT', async (t) => {
  // Labels magic in the image file, plain and gzipped.
  for (const gzip of [false, true]) {
    const { dir, file } = withFile('train-images-idx3-ubyte', idxBytes([30, 5, 4], bytes(600, 1), 0x801), gzip);
    await expectError(t, dir, file, 'SENET_FORMAT', /expected IDX magic 0x00000803.*received magic 0x00000801/);
  }
});

test('truncated data and truncated header: SENET_FORMAT', async (t) => {
  const a = withFile('train-images-idx3-ubyte', idxBytes([30, 5, 4], bytes(599, 1)), true);
  await expectError(t, a.dir, a.file, 'SENET_FORMAT', /expected 600 data bytes for 30x5x4, received 599 \(truncated\)/);
  for (const gzip of [false, true]) {
    const b = withFile('train-labels-idx1-ubyte', Uint8Array.from([0, 0, 8]), gzip);
    await expectError(t, b.dir, b.file, 'SENET_FORMAT', /truncated/);
  }
});

test('trailing bytes: SENET_FORMAT', async (t) => {
  for (const gzip of [false, true]) {
    const { dir, file } = withFile('t10k-images-idx3-ubyte', idxBytes([20, 5, 4], bytes(403, 1)), gzip);
    await expectError(t, dir, file, 'SENET_FORMAT', /received 3 trailing bytes/);
  }
});

test('corrupt gzip: SENET_FORMAT', async (t) => {
  const gz = fs.readFileSync(path.join(good, 'train-labels-idx1-ubyte.gz'));
  const cut = gz.subarray(0, gz.length - 12); // lost its end
  const { dir, file } = withFile('train-labels-idx1-ubyte', cut);
  await expectError(t, dir, file, 'SENET_FORMAT', /expected a valid gzip stream/);
  const garbled = Buffer.from(gz);
  garbled.fill(0xaa, 10, 20);
  const b = withFile('train-labels-idx1-ubyte', garbled);
  await expectError(t, b.dir, b.file, 'SENET_FORMAT', /gzip/);
});

test('image/label count mismatch: SENET_FORMAT', async (t) => {
  const { dir, file } = withFile('train-labels-idx1-ubyte', idxBytes([29], new Uint8Array(29)), true);
  await expectError(t, dir, file, 'SENET_FORMAT', /expected 30 labels, one per image of .*train-images-idx3-ubyte.gz, received 29/);
});

test('label out of range: SENET_FORMAT naming index and value', async (t) => {
  const labels = new Uint8Array(30);
  labels[17] = 10;
  const { dir, file } = withFile('train-labels-idx1-ubyte', idxBytes([30], labels));
  await expectError(t, dir, file, 'SENET_FORMAT', /label 17: expected a class in \[0, 9\], received 10/);
});

test('bad directory argument or options: SENET_ARGUMENT', async (t) => {
  for (const e of await bothErrors(() => loadMnistSync(''), () => loadMnist(''))) t.is(e.code, 'SENET_ARGUMENT');
  for (const bad of [0, 1.5, -1, '1', null]) {
    const options = { maxBytes: bad as number };
    for (const e of await bothErrors(() => loadMnistSync(good, options), () => loadMnist(good, options))) {
      t.is(e.code, 'SENET_ARGUMENT');
      t.regex(e.message, /options\.maxBytes: expected an integer in \[1, \d+\]/);
    }
  }
  await checkGood(t);
});

test('an IDX file of no images (or of 0-pixel images, or no labels): SENET_FORMAT naming the file, at load', async (t) => {
  // Well-formed IDX, but no dataset: it used to load and fail later, far from the file.
  const zeroRows = withFile('train-images-idx3-ubyte', idxBytes([0, 5, 4], new Uint8Array(0)), true);
  await expectError(t, zeroRows.dir, zeroRows.file, 'SENET_FORMAT', /expected at least one image of at least 1x1 pixels \(every size >= 1\), received sizes 0x5x4/);
  const zeroCols = withFile('t10k-images-idx3-ubyte', idxBytes([20, 5, 0], new Uint8Array(0)));
  await expectError(t, zeroCols.dir, zeroCols.file, 'SENET_FORMAT', /received sizes 20x5x0/);
  const noLabels = withFile('t10k-labels-idx1-ubyte', idxBytes([0], new Uint8Array(0)));
  await expectError(t, noLabels.dir, noLabels.file, 'SENET_FORMAT', /expected at least one label/);
});

test('test images of another size than the training images: SENET_FORMAT naming both files', async (t) => {
  const { dir, file } = withFile('t10k-images-idx3-ubyte', idxBytes([20, 6, 4], bytes(20 * 6 * 4, 3)));
  await expectError(t, dir, file, 'SENET_FORMAT', /expected images of 5x4 pixels, as in .*train-images-idx3-ubyte\.gz, received 6x4/);
});
