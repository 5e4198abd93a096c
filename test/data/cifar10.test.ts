import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CIFAR10_CLASSES, loadCifar10, loadDataset } from '../../lib/data';
import { bytes, tempDir, thrown } from './helpers';

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

test('planes (R, G, B) become channels-last, pixel by pixel, over all five train batches', (t) => {
  const dir = tempDir();
  const raw = writeCifar(dir, 3);
  const { train, test: tst } = loadCifar10(dir);
  t.is(train.name, 'cifar10/train');
  t.deepEqual([train.count, train.height, train.width, train.channels], [15, 32, 32, 3]);
  t.deepEqual([tst.count, tst.height, tst.width, tst.channels], [3, 32, 32, 3]);
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
});

test('class names come from batches.meta.txt; the archive folder is found inside dir', (t) => {
  const dir = tempDir();
  const inner = path.join(dir, 'cifar-10-batches-bin');
  fs.mkdirSync(inner);
  writeCifar(inner, 1);
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
  fs.writeFileSync(path.join(inner, 'batches.meta.txt'), names.join('\n') + '\n\n');
  const ds = loadDataset('cifar10', dir);
  t.deepEqual(ds.test.classes, names);
  t.is(ds.train.count, 5);
  fs.writeFileSync(path.join(inner, 'batches.meta.txt'), 'a\nb\n');
  const e = thrown(() => loadCifar10(dir));
  t.is(e.code, 'SENET_FORMAT');
  t.regex(e.message, /batches\.meta\.txt: expected 10 class names, received 2/);
});

test('a size that is not a multiple of 3073: SENET_FORMAT naming the file', (t) => {
  const dir = tempDir();
  writeCifar(dir, 2);
  const file = path.join(dir, 'data_batch_3.bin');
  fs.writeFileSync(file, new Uint8Array(2 * RECORD - 1));
  const e = thrown(() => loadCifar10(dir));
  t.is(e.code, 'SENET_FORMAT');
  t.true(e.message.includes(file), e.message);
  t.regex(e.message, /expected a positive multiple of 3073 bytes.*received 6145 bytes/);
  fs.writeFileSync(file, new Uint8Array(0));
  t.is(thrown(() => loadCifar10(dir)).code, 'SENET_FORMAT');
  writeCifar(dir, 1);
  t.is(loadCifar10(dir).train.count, 5);
});

test('a label above 9: SENET_FORMAT naming file, index and value', (t) => {
  const dir = tempDir();
  writeCifar(dir, 3);
  const file = path.join(dir, 'test_batch.bin');
  const b = fs.readFileSync(file);
  b[2 * RECORD] = 10;
  fs.writeFileSync(file, b);
  const e = thrown(() => loadCifar10(dir));
  t.is(e.code, 'SENET_FORMAT');
  t.true(e.message.includes(file), e.message);
  t.regex(e.message, /label 2: expected a class in \[0, 9\], received 10/);
});

test('missing files: SENET_IO listing them', (t) => {
  const dir = tempDir();
  writeCifar(dir, 1);
  fs.rmSync(path.join(dir, 'data_batch_2.bin'));
  fs.rmSync(path.join(dir, 'test_batch.bin'));
  const e = thrown(() => loadCifar10(dir));
  t.is(e.code, 'SENET_IO');
  t.regex(e.message, /missing data_batch_2\.bin, test_batch\.bin/);
  t.true(e.message.includes(dir));
  t.is(thrown(() => loadDataset('cifar10')).code, 'SENET_ARGUMENT');
});
