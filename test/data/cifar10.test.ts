import test, { type ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CIFAR10_CLASSES, loadCifar10, loadCifar10Sync, loadDataset, loadDatasetSync, type ImageDataset } from '../../lib/data';
import { bothErrors, bytes, tempDir } from './helpers';

const RECORD = 3073;
const FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];

/** Writes six batch files of `perFile` records each; returns the raw bytes by file name. */
function writeCifar(dir: string, perFile: number): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  FILES.forEach((f, i) => {
    const b = bytes(perFile * RECORD, 100 + i);
    for (let r = 0; r < perFile; r++) b[r * RECORD] = (r + i) % 10;
    fs.writeFileSync(path.join(dir, f), b);
    out.set(f, b);
  });
  return out;
}

test('planes (R, G, B) become channels-last, pixel by pixel, over all five train batches', async (t) => {
  const dir = tempDir();
  // 1100 records a file: more than one slice of the non-blocking converter.
  const raw = writeCifar(dir, 1100);
  for (const { train, test: tst } of [loadCifar10Sync(dir), await loadCifar10(dir)]) {
    checkSplits(t, train, tst, raw);
  }
});

function checkSplits(t: ExecutionContext, train: ImageDataset, tst: ImageDataset, raw: Map<string, Uint8Array>) {
  t.is(train.name, 'cifar10/train');
  t.deepEqual([train.count, train.height, train.width, train.channels], [5500, 32, 32, 3]);
  t.deepEqual([tst.count, tst.height, tst.width, tst.channels], [1100, 32, 32, 3]);
  t.deepEqual(train.classes, CIFAR10_CLASSES.slice());
  let mismatches = 0;
  const check = (ds: typeof train, files: string[]) => {
    let n = 0;
    for (const f of files) {
      const b = raw.get(f) as Uint8Array;
      for (let r = 0; r < b.length / RECORD; r++, n++) {
        if (ds.labels[n] !== b[r * RECORD]) mismatches++;
        for (let y = 0; y < 32; y++) {
          for (let x = 0; x < 32; x++) {
            for (let c = 0; c < 3; c++) {
              const want = b[r * RECORD + 1 + c * 1024 + y * 32 + x];
              if (ds.images[((n * 32 + y) * 32 + x) * 3 + c] !== want) mismatches++;
            }
          }
        }
      }
    }
  };
  check(train, FILES.slice(0, 5));
  check(tst, ['test_batch.bin']);
  t.is(mismatches, 0);
}

test('class names come from batches.meta.txt; the archive folder is found inside dir', async (t) => {
  const dir = tempDir();
  const inner = path.join(dir, 'cifar-10-batches-bin');
  fs.mkdirSync(inner);
  writeCifar(inner, 1);
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
  fs.writeFileSync(path.join(inner, 'batches.meta.txt'), names.join('\n') + '\n\n');
  for (const ds of [loadDatasetSync('cifar10', dir), await loadDataset('cifar10', dir)]) {
    t.deepEqual(ds.test.classes, names);
    t.is(ds.train.count, 5);
  }
  fs.writeFileSync(path.join(inner, 'batches.meta.txt'), 'a\nb\n');
  for (const e of await bothErrors(() => loadCifar10Sync(dir), () => loadCifar10(dir))) {
    t.is(e.code, 'SENET_FORMAT');
    t.regex(e.message, /batches\.meta\.txt: expected 10 class names, received 2/);
  }
});

test('a size that is not a multiple of 3073: SENET_FORMAT naming the file', async (t) => {
  const dir = tempDir();
  writeCifar(dir, 2);
  const file = path.join(dir, 'data_batch_3.bin');
  fs.writeFileSync(file, new Uint8Array(2 * RECORD - 1));
  for (const e of await bothErrors(() => loadCifar10Sync(dir), () => loadCifar10(dir))) {
    t.is(e.code, 'SENET_FORMAT');
    t.true(e.message.includes(file), e.message);
    t.regex(e.message, /expected a positive multiple of 3073 bytes.*received 6145 bytes/);
  }
  fs.writeFileSync(file, new Uint8Array(0));
  for (const e of await bothErrors(() => loadCifar10Sync(dir), () => loadCifar10(dir))) t.is(e.code, 'SENET_FORMAT');
  writeCifar(dir, 1);
  t.is(loadCifar10Sync(dir).train.count, 5);
  t.is((await loadCifar10(dir)).train.count, 5);
});

test('a file larger than maxBytes: SENET_FORMAT naming the file and the option', async (t) => {
  const dir = tempDir();
  writeCifar(dir, 2);
  const options = { maxBytes: RECORD };
  for (const e of await bothErrors(() => loadCifar10Sync(dir, options), () => loadCifar10(dir, options))) {
    t.is(e.code, 'SENET_FORMAT');
    t.true(e.message.includes(path.join(dir, 'data_batch_1.bin')), e.message);
    t.regex(e.message, /expected at most 3073 bytes \(the maxBytes option\), received a file of 6146 bytes/);
  }
});

test('a label above 9: SENET_FORMAT naming file, index and value', async (t) => {
  const dir = tempDir();
  writeCifar(dir, 3);
  const file = path.join(dir, 'test_batch.bin');
  const b = fs.readFileSync(file);
  b[2 * RECORD] = 10;
  fs.writeFileSync(file, b);
  for (const e of await bothErrors(() => loadCifar10Sync(dir), () => loadCifar10(dir))) {
    t.is(e.code, 'SENET_FORMAT');
    t.true(e.message.includes(file), e.message);
    t.regex(e.message, /label 2: expected a class in \[0, 9\], received 10/);
  }
});

test('missing files: SENET_IO listing them', async (t) => {
  const dir = tempDir();
  writeCifar(dir, 1);
  fs.rmSync(path.join(dir, 'data_batch_2.bin'));
  fs.rmSync(path.join(dir, 'test_batch.bin'));
  for (const e of await bothErrors(() => loadCifar10Sync(dir), () => loadCifar10(dir))) {
    t.is(e.code, 'SENET_IO');
    t.regex(e.message, /missing data_batch_2\.bin, test_batch\.bin/);
    t.true(e.message.includes(dir));
  }
  for (const e of await bothErrors(() => loadDatasetSync('cifar10'), () => loadDataset('cifar10'))) t.is(e.code, 'SENET_ARGUMENT');
});
