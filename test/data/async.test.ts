import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { loadMnist, loadMnistSync, readIdxImages, readIdxImagesSync, readIdxLabels, readIdxLabelsSync } from '../../lib/data';
import { readMaybeGzip } from '../../lib/data/read';
import { bothErrors, bytes, countTurns, idxBytes, rejected, tempDir, writeFile, writeMnistDir } from './helpers';

// The non-blocking readers: the same bytes as the blocking ones, streamed, and a gzip bomb refused
// before it is inflated.

const MB = 1024 * 1024;

/**
 * gzip of `header` then 200 MB of zeros (about 200 kB), with its CRC spoiled: a reader that inflated
 * the whole stream would report a corrupt gzip, so the size error proves that it stopped early.
 */
function bomb(header: Uint8Array): Buffer {
  const gz = zlib.gzipSync(Buffer.concat([header, Buffer.alloc(200 * MB)]), { level: 9 });
  gz[gz.length - 8] ^= 0xff;
  return gz;
}

test('async readers give the same bytes as the blocking ones, plain and gzipped, across many chunks', async (t) => {
  const dir = tempDir();
  const images = bytes(1000 * 28 * 28, 5); // 784 kB: several gunzip chunks
  const labels = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 10);
  for (const gzip of [false, true]) {
    const imageFile = writeFile(dir, `images-${gzip}`, idxBytes([1000, 28, 28], images), gzip);
    const labelFile = writeFile(dir, `labels-${gzip}`, idxBytes([1000], labels), gzip);
    const a = await readIdxImages('test', imageFile);
    const b = readIdxImagesSync('test', imageFile);
    t.deepEqual([a.count, a.rows, a.cols], [1000, 28, 28]);
    t.deepEqual([b.count, b.rows, b.cols], [1000, 28, 28]);
    t.true(Buffer.from(a.data).equals(Buffer.from(images)));
    t.true(Buffer.from(b.data).equals(Buffer.from(images)));
    t.true(Buffer.from(await readIdxLabels('test', labelFile, 10)).equals(Buffer.from(labels)));
    t.true(Buffer.from(readIdxLabelsSync('test', labelFile, 10)).equals(Buffer.from(labels)));
  }
});

test('the event loop turns while a dataset loads', async (t) => {
  const dir = tempDir();
  writeMnistDir(dir, 3000, 500, 28, 28, true);
  let stop = countTurns();
  const splits = await loadMnist(dir);
  const turns = stop();
  t.is(splits.train.count, 3000);
  t.true(turns > 0, `${turns} turns of the event loop during loadMnist`);
  stop = countTurns();
  loadMnistSync(dir);
  t.is(stop(), 0); // the blocking loader, for contrast
});

test('a gzip bomb whose header promises more than maxBytes is refused before inflating it', async (t) => {
  const dir = tempDir();
  writeMnistDir(dir, 10, 10, 2, 2, true);
  fs.rmSync(path.join(dir, 'train-images-idx3-ubyte.gz'));
  const file = writeFile(dir, 'train-images-idx3-ubyte', bomb(idxBytes([200_000, 1000, 1], new Uint8Array(0))));
  const options = { maxBytes: MB };
  const [sync, nonBlocking] = await bothErrors(() => loadMnistSync(dir, options), () => loadMnist(dir, options));
  for (const e of [sync, nonBlocking]) {
    t.is(e.code, 'SENET_FORMAT');
    t.true(e.message.includes(file), e.message);
    t.regex(e.message, /expected at most 1048576 bytes once gunzipped \(the maxBytes option\)/);
  }
  t.regex(nonBlocking.message, /received a header promising 200000016; refused before inflating it/);
  t.regex(sync.message, /inflates to more than 1048576; stopped inflating there/);
});

test('a gzip bomb whose header lies is stopped just past the size the header promises', async (t) => {
  const dir = tempDir();
  const file = writeFile(dir, 'images', bomb(idxBytes([10, 10, 10], new Uint8Array(0))));
  const e = await rejected(readIdxImages('test', file));
  t.is(e.code, 'SENET_FORMAT');
  t.regex(e.message, /^test: .*images: expected 1016 bytes once gunzipped \(the size its header promises\), received a gzip stream that inflates to more than 66552; stopped inflating there/);
  // Zeros are no IDX header at all: refused at the magic, from the first chunk.
  const zeros = writeFile(dir, 'zeros', bomb(new Uint8Array(0)));
  t.regex((await rejected(readIdxImages('test', zeros))).message, /zeros: expected IDX magic 0x00000803 \(u8, 3-d\), received magic 0x00000000/);
});

test('a gzip bomb of unknown size is stopped at maxBytes', async (t) => {
  const dir = tempDir();
  const file = writeFile(dir, 'blob', bomb(new Uint8Array(0)));
  const e = await rejected(readMaybeGzip('test', file, MB));
  t.is(e.code, 'SENET_FORMAT');
  t.is(e.message, `test: ${file}: expected at most 1048576 bytes once gunzipped (the maxBytes option), received a gzip stream that inflates to more than 1048576; stopped inflating there (a gzip bomb, or trailing data?)`);
  // Without the spoiled CRC and under the limit, the same stream inflates whole.
  const fine = writeFile(dir, 'fine', zlib.gzipSync(Buffer.alloc(3 * MB, 7)));
  const out = await readMaybeGzip('test', fine, 4 * MB);
  t.is(out.length, 3 * MB);
  t.true(out.every((b) => b === 7));
});

test('a truncated gzip is SENET_FORMAT, a missing file SENET_IO', async (t) => {
  const dir = tempDir();
  const gz = zlib.gzipSync(idxBytes([1000, 28, 28], bytes(1000 * 28 * 28, 9)));
  const file = writeFile(dir, 'cut', gz.subarray(0, gz.length >> 1));
  for (const e of await bothErrors(() => readIdxImagesSync('test', file), () => readIdxImages('test', file))) {
    t.is(e.code, 'SENET_FORMAT');
    t.regex(e.message, /cut: expected a valid gzip stream, received a corrupt one \(unexpected end of file\)/);
  }
  const missing = path.join(dir, 'missing');
  for (const e of await bothErrors(() => readIdxImagesSync('test', missing), () => readIdxImages('test', missing))) {
    t.is(e.code, 'SENET_IO');
    t.regex(e.message, /^test: .*missing: cannot read: ENOENT/);
  }
  const e = await rejected(loadMnist(path.join(dir, 'nowhere')));
  t.is(e.code, 'SENET_IO');
  t.regex(e.message, /nowhere.*train-images-idx3-ubyte\[\.gz\]: file not found/);
});
