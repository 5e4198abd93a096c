import test from 'ava';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { BatchLoader, makeBatch, makeByteBatch, normalizationTable, permutation, type AugmentOptions, type Batch, type ByteBatch, type ImageDataset, type LoaderOptions } from '../../lib/data';
import { empty, ops, tensor, zeros } from '../../lib';
import { syntheticDataset, thrown } from './helpers';

// Image i carries i in its first two bytes, so that an unaugmented batch tells which images it holds.
const COUNT = 1000;
const ds = syntheticDataset(COUNT, 4, 4, 2);
for (let i = 0; i < COUNT; i++) {
  ds.images[i * 32] = i & 255;
  ds.images[i * 32 + 1] = i >> 8;
}
const augment: AugmentOptions = { cropPadding: 1, flip: true, mean: [0.3, 0.6], std: [0.2, 0.4] };

function indicesOf(b: Batch): number[] {
  const out: number[] = [];
  for (let k = 0; k < b.size; k++) out.push(Math.round(b.images[k * 32] * 255) + 256 * Math.round(b.images[k * 32 + 1] * 255));
  return out;
}

async function collect(loader: BatchLoader, epoch: number, start = 0): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader.epoch(epoch, start)) out.push(b);
  return out;
}

async function epochOrder(options: Partial<LoaderOptions>, epoch: number, data: ImageDataset = ds): Promise<number[][]> {
  const loader = new BatchLoader(data, { batchSize: 64, shuffle: true, augment: null, seed: 1, ...options });
  try {
    return (await collect(loader, epoch)).map(indicesOf);
  } finally {
    await loader.close();
  }
}

test('each epoch covers every index once; the last batch is smaller unless dropLast', async (t) => {
  const loader = new BatchLoader(ds, { batchSize: 64, shuffle: true, augment: null, seed: 1, workers: 2 });
  t.is(loader.batchesPerEpoch, 16);
  for (const epoch of [0, 1]) {
    const batches = await collect(loader, epoch);
    t.deepEqual(batches.map((b) => b.index), Array.from({ length: 16 }, (_, i) => i));
    t.deepEqual(batches.map((b) => b.size), [...new Array<number>(15).fill(64), 40]);
    const seen = batches.flatMap(indicesOf);
    t.deepEqual(seen.slice().sort((a, b) => a - b), Array.from({ length: COUNT }, (_, i) => i));
    t.deepEqual(seen, Array.from(permutation(COUNT, 1, epoch)));
    batches.forEach((b) => t.deepEqual(Array.from(b.labels), indicesOf(b).map((i) => ds.labels[i])));
  }
  await loader.close();
  const dropped = await epochOrder({ dropLast: true, workers: 1 }, 0);
  t.is(dropped.length, 15);
  t.is(new Set(dropped.flat()).size, 960);
  t.deepEqual((await epochOrder({ shuffle: false, workers: 1 }, 5)).flat(), Array.from({ length: COUNT }, (_, i) => i));
});

test('a loader says its image shape and its smallest batch, so that training can check them first', async (t) => {
  const opts = { shuffle: false, augment: null, seed: 0, workers: 0 };
  const make = (count: number, batchSize: number, dropLast?: boolean) => new BatchLoader(syntheticDataset(count, 3, 5, 2), { ...opts, batchSize, dropLast });
  const cases: [number, number, boolean | undefined, number, number][] = [
    // count, batch size, dropLast -> batches per epoch, smallest batch
    [65, 32, undefined, 3, 1],
    [65, 32, true, 2, 32],
    [64, 32, undefined, 2, 32],
    [5, 32, undefined, 1, 5],
    [5, 32, true, 0, 0],
  ];
  for (const [count, batchSize, dropLast, batches, smallest] of cases) {
    const loader = make(count, batchSize, dropLast);
    t.deepEqual(loader.imageShape, [3, 5, 2]);
    t.is(loader.batchesPerEpoch, batches, `${count}/${batchSize}/${dropLast}`);
    t.is(loader.smallestBatch, smallest, `${count}/${batchSize}/${dropLast}`);
    const sizes = (await collect(loader, 0)).map((b) => b.size);
    t.is(sizes.length ? Math.min(...sizes) : 0, smallest);
    await loader.close();
  }
});

test('the order depends on (seed, epoch) only: not on workers, prefetch or batch size', async (t) => {
  const ref = (await epochOrder({ workers: 0 }, 3)).flat();
  t.deepEqual((await epochOrder({ workers: 2, prefetch: 1 }, 3)).flat(), ref);
  t.deepEqual((await epochOrder({ workers: 1, prefetch: 5, batchSize: 100 }, 3)).flat(), ref);
  t.notDeepEqual((await epochOrder({ workers: 0 }, 4)).flat(), ref);
  t.notDeepEqual((await epochOrder({ workers: 0, seed: 2 }, 3)).flat(), ref);
});

test('batches are bit-identical to makeBatch on the main thread; resume gives the same remaining batches', async (t) => {
  const order = await epochOrder({ workers: 0 }, 2);
  const loader = new BatchLoader(ds, { batchSize: 64, shuffle: true, augment, seed: 1, workers: 2, prefetch: 3 });
  const batches = await collect(loader, 2);
  t.is(batches.length, order.length);
  batches.forEach((b, i) => {
    const want = makeBatch(ds, order[i], augment, 1, 2, i);
    t.is(b.index, i);
    t.deepEqual(Buffer.from(b.images.buffer, b.images.byteOffset, b.images.byteLength), Buffer.from(want.images.buffer));
    t.deepEqual(Array.from(b.labels), Array.from(want.labels));
  });
  const resumed = await collect(loader, 2, 11);
  t.deepEqual(resumed.map((b) => b.index), [11, 12, 13, 14, 15]);
  resumed.forEach((b) => t.deepEqual(Array.from(b.images), Array.from(batches[b.index].images)));
  t.deepEqual(await collect(loader, 2, 16), []);
  t.is(thrown(() => loader.epoch(2, 17)).code, 'SENET_ARGUMENT');
  await loader.close();
});

test('early break leaves nothing in flight; close() is idempotent and ends the loader', async (t) => {
  const loader = new BatchLoader(ds, { batchSize: 10, shuffle: true, augment, seed: 1, workers: 2, prefetch: 6 });
  for await (const b of loader.epoch(0)) {
    t.true(loader.inFlight > 0);
    if (b.index === 2) break;
  }
  t.is(loader.inFlight, 0);
  await loader.close();
  await loader.close();
  t.is(thrown(() => loader.epoch(1)).code, 'SENET_DISPOSED');
});

test('close() during an epoch rejects the batches still awaited with SENET_DISPOSED', async (t) => {
  const loader = new BatchLoader(ds, { batchSize: 10, shuffle: true, augment, seed: 1, workers: 1, prefetch: 4 });
  const it = loader.epoch(0);
  t.is((await it.next()).value?.index, 0);
  await loader.close();
  // Batches that were already back may still come; the first one not back fails.
  const err = await t.throwsAsync(async () => {
    while (!(await it.next()).done);
  });
  t.is((err as { code?: string }).code, 'SENET_DISPOSED');
  t.is(loader.inFlight, 0);
});

/** Runs exit-child.js; resolves with its output, or rejects if it hasn't exited within 15 s. */
function runChild(mode: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, 'exit-child.js'), mode], { timeout: 15000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

test('after an early break and close() the process exits by itself, and even without close()', async (t) => {
  const [closed, unclosed] = await Promise.all([runChild('close'), runChild('noclose')]);
  t.deepEqual(JSON.parse(closed), { images: 64, inFlight: 0, closed: true });
  t.deepEqual(JSON.parse(unclosed), { images: 64, inFlight: 0, closed: false });
});

class BadOrder extends BatchLoader {
  bad = true;
  protected override order(epoch: number): Uint32Array {
    const p = super.order(epoch);
    if (this.bad) p[70] = 5000;
    return p;
  }
}

test('an error inside a worker rejects the iteration with its message; the loader goes on', async (t) => {
  const loader = new BadOrder(ds, { batchSize: 64, shuffle: false, augment, seed: 1, workers: 2 });
  const seen: number[] = [];
  const err = await t.throwsAsync(async () => {
    for await (const b of loader.epoch(0)) seen.push(b.index);
  });
  t.deepEqual(seen, [0]);
  t.is((err as { code?: string }).code, 'SENET_ARGUMENT');
  t.regex(err?.message ?? '', /makeBatch: indices\[6\]: expected an integer in \[0, 999\], received number 5000/);
  t.is(loader.inFlight, 0);
  loader.bad = false;
  t.is((await collect(loader, 1)).length, 16);
  await loader.close();
});

class Crashing extends BatchLoader {
  protected override workerScript(): string {
    return path.join(__dirname, 'crash-worker.js');
  }
}

test('a worker that dies rejects the iteration with its error', async (t) => {
  const loader = new Crashing(ds, { batchSize: 64, shuffle: false, augment: null, seed: 1, workers: 1 });
  await t.throwsAsync(() => collect(loader, 0), { message: /crash-worker: failed on purpose/ });
  t.is(loader.inFlight, 0);
  await loader.close();
});

test('bad options: SENET_ARGUMENT', (t) => {
  const ok: LoaderOptions = { batchSize: 8, shuffle: true, augment, seed: 1 };
  const bad = (o: Partial<LoaderOptions>, data: ImageDataset = ds) => thrown(() => new BatchLoader(data, { ...ok, ...o } as LoaderOptions)).code;
  t.is(bad({ batchSize: 0 }), 'SENET_ARGUMENT');
  t.is(bad({ shuffle: 1 as unknown as boolean }), 'SENET_ARGUMENT');
  t.is(bad({ augment: { ...augment, mean: [0.5] } }), 'SENET_ARGUMENT');
  t.is(bad({ augment: undefined }), 'SENET_ARGUMENT');
  t.is(bad({ workers: -1 }), 'SENET_ARGUMENT');
  t.is(bad({ prefetch: 0 }), 'SENET_ARGUMENT');
  t.is(bad({ seed: 0.5 }), 'SENET_ARGUMENT');
  t.is(bad({}, { ...ds, count: 999 }), 'SENET_ARGUMENT');
  const loader = new BatchLoader(ds, ok);
  t.true(loader.workers === 1 || loader.workers === 2);
  t.is(thrown(() => loader.epoch(-1)).code, 'SENET_ARGUMENT');
});

// Byte batches are for the device to normalise: the same floats, a quarter of the copy.
test('byte batches normalised by ops.normalizeBytes equal the float batches bit for bit', async (t) => {
  const floats = new BatchLoader(ds, { batchSize: 48, shuffle: true, augment, seed: 5, workers: 0 });
  const want = await collect(floats, 2);
  await floats.close();
  for (const workers of [0, 1]) {
    const loader = new BatchLoader<ByteBatch>(ds, { batchSize: 48, shuffle: true, augment, seed: 5, workers, bytes: true });
    let k = 0;
    for await (const b of loader.epoch(2)) {
      t.true(b.images instanceof Uint8Array);
      t.deepEqual(b.normalize, normalizationTable(augment, 2));
      t.is(b.index, want[k]!.index);
      const x = tensor(b.images, [b.size, 4, 4, 2]);
      const table = tensor(b.normalize, [2, 256]);
      const y = ops.normalizeBytes(x, table);
      t.deepEqual(await y.data(), want[k]!.images, `workers ${workers}, batch ${k}`);
      const y16 = ops.normalizeBytes(x, table, empty([b.size, 4, 4, 2], { dtype: 'bfloat16' }));
      const cast16 = ops.cast(y, 'bfloat16');
      t.deepEqual(await y16.data(), await cast16.data(), 'bfloat16: the table value rounded once');
      for (const v of [x, table, y, y16, cast16]) v.dispose();
      k++;
    }
    t.is(k, want.length);
    await loader.close();
  }
  const b = makeByteBatch(ds, [3, 999], { ...augment, cropPadding: 0, flip: false }, 1, 0, 0);
  t.deepEqual(b.images, Uint8Array.of(...ds.images.subarray(3 * 32, 4 * 32), ...ds.images.subarray(999 * 32, 1000 * 32)), 'without crop and flip: the bytes themselves');
  const x = tensor(b.images, [2, 4, 4, 2]);
  const e1 = t.throws(() => ops.normalizeBytes(x, zeros([3, 256])));
  t.is((e1 as { code?: string }).code, 'SENET_SHAPE');
  t.regex(e1!.message, /normalizeBytes: table: expected shape \[2, 256\], received \[3, 256\]/);
  const e2 = t.throws(() => ops.normalizeBytes(zeros([2, 4, 4, 2]), zeros([2, 256])));
  t.regex(e2!.message, /normalizeBytes: x/);
  x.dispose();
});
