import test, { type ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  loadCheckpoint,
  loadCheckpointAsync,
  readSafetensors,
  readSafetensorsAsync,
  saveCheckpoint,
  saveCheckpointAsync,
  toFloat32,
  writeFileAtomic,
  writeFileAtomicAsync,
  writeSafetensors,
  writeSafetensorsAsync,
  type SafetensorsFile,
  type TensorToWrite,
} from '../../lib/io';

// The non-blocking readers and writers: the same bytes, checks and errors as the blocking ones.

/** A fresh folder, removed when the test ends (passed or failed). */
function tmpDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'senet-io-async-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Counts turns of the event loop (a setImmediate chain) until the returned function is called, which gives the count. */
function countTurns(): () => number {
  let turns = 0;
  let next = setImmediate(function turn() {
    turns++;
    next = setImmediate(turn);
  });
  return () => {
    clearImmediate(next);
    return turns;
  };
}

/** The error `promise` rejects with (fails the test if it resolves). */
async function rejected(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected a rejection');
}

function tensors(): Record<string, TensorToWrite> {
  return {
    'fc.weight': { dtype: 'F32', shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i / 3 - 1) },
    'bn.num_batches_tracked': { dtype: 'I64', shape: [], data: BigInt64Array.of(42n) },
    'layer1.0.conv1.weight': { dtype: 'F32', shape: [2, 1, 1, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) },
    mask: { dtype: 'U8', shape: [5], data: Uint8Array.of(1, 0, 1, 1, 0) },
    // A large tensor: several megabytes, so the write is more than one small syscall.
    big: { dtype: 'F32', shape: [1024, 1024], data: Float32Array.from({ length: 1024 * 1024 }, (_, i) => Math.sin(i)) },
  };
}

function sameTensors(t: ExecutionContext, a: SafetensorsFile, b: SafetensorsFile) {
  t.deepEqual([...a.tensors.keys()], [...b.tensors.keys()]);
  for (const [name, x] of a.tensors) {
    const y = b.tensors.get(name)!;
    t.deepEqual([x.dtype, x.shape], [y.dtype, y.shape], name);
    t.true(Buffer.from(x.data).equals(Buffer.from(y.data)), name);
  }
  t.deepEqual(a.metadata, b.metadata);
}

test('safetensors: async write is byte-identical to the sync writer; async and sync reads agree', async (t) => {
  const dir = tmpDir(t);
  const syncFile = path.join(dir, 'sync.safetensors');
  const asyncFile = path.join(dir, 'async.safetensors');
  writeSafetensors(syncFile, tensors(), { k: 'v', ü: 'ÿ' });
  await writeSafetensorsAsync(asyncFile, tensors(), { k: 'v', ü: 'ÿ' });
  t.true(fs.readFileSync(asyncFile).equals(fs.readFileSync(syncFile)));
  const a = await readSafetensorsAsync(asyncFile);
  sameTensors(t, a, readSafetensors(asyncFile));
  sameTensors(t, a, readSafetensors(syncFile));
  t.deepEqual(Array.from(toFloat32(a.tensors.get('fc.weight')!)), Array.from(tensors()['fc.weight'].data as Float32Array));
  // Overwriting replaces the file; no temporary file is left.
  await writeSafetensorsAsync(asyncFile, { x: { dtype: 'U8', shape: [1], data: Uint8Array.of(9) } });
  t.deepEqual([...(await readSafetensorsAsync(asyncFile)).tensors.keys()], ['x']);
  t.deepEqual(fs.readdirSync(dir).sort(), ['async.safetensors', 'sync.safetensors']);
});

test('checkpoints: async save is byte-identical to the sync one; async load gives the same checkpoint', async (t) => {
  const dir = tmpDir(t);
  const state = { step: 7, epoch: 1, lr: 0.05, name: 'ünï ✓', history: [{ step: 7, loss: 2.25 }] };
  const syncFile = path.join(dir, 'sync.safetensors');
  const asyncFile = path.join(dir, 'async.safetensors');
  saveCheckpoint(syncFile, tensors(), state);
  await saveCheckpointAsync(asyncFile, tensors(), state);
  t.true(fs.readFileSync(asyncFile).equals(fs.readFileSync(syncFile)));
  const a = await loadCheckpointAsync<typeof state>(asyncFile);
  const s = loadCheckpoint<typeof state>(syncFile);
  t.deepEqual(a.state, state);
  t.deepEqual(a.metadata, s.metadata);
  sameTensors(t, { tensors: a.tensors, metadata: a.metadata }, { tensors: s.tensors, metadata: s.metadata });
});

test('async errors reject with the codes and messages of the sync ones', async (t) => {
  const dir = tmpDir(t);
  const missing = path.join(dir, 'missing.safetensors');
  const e1 = await rejected(readSafetensorsAsync(missing));
  t.is(e1.code, 'SENET_IO');
  t.regex(e1.message, /^readSafetensorsAsync: cannot read ".*missing.safetensors": ENOENT/);
  t.regex((await rejected(readSafetensorsAsync(dir))).message, /EISDIR/);
  t.is((await rejected(loadCheckpointAsync(missing))).code, 'SENET_IO');
  const file = path.join(dir, 'x.safetensors');
  fs.writeFileSync(file, 'not a safetensors file');
  const e2 = await rejected(loadCheckpointAsync(file));
  t.is(e2.code, 'SENET_FORMAT');
  t.regex(e2.message, /x.safetensors: header length/);
  await writeSafetensorsAsync(file, {}, { format: 'senet-checkpoint/1' });
  t.regex((await rejected(loadCheckpointAsync(file))).message, /^loadCheckpointAsync: .*x.safetensors: metadata senet.checkpoint: expected the JSON state, received none/);
  // Argument errors reject too (an async function never throws synchronously).
  const bad = writeSafetensorsAsync(file, { w: { dtype: 'F32', shape: [2], data: new Float32Array(3) } });
  const e3 = await rejected(bad);
  t.is(e3.code, 'SENET_ARGUMENT');
  t.regex(e3.message, /^writeSafetensorsAsync: tensor "w": data: expected 8 bytes for F32 \[2\], received 12 bytes/);
  const e4 = await rejected(saveCheckpointAsync(file, {}, { lr: NaN }));
  t.regex(e4.message, /^saveCheckpointAsync: state\.lr: expected a finite number, received number NaN/);
  t.is((await rejected(writeFileAtomicAsync(5 as unknown as string, Uint8Array.of(1)))).code, 'SENET_ARGUMENT');
});

test('writeFileAtomicAsync: an unwritable target is SENET_IO and leaves no temporary file', async (t) => {
  const dir = tmpDir(t);
  const e1 = await rejected(writeFileAtomicAsync(path.join(dir, 'no', 'such', 'folder', 'f.bin'), Uint8Array.of(1)));
  t.is(e1.code, 'SENET_IO');
  t.regex(e1.message, /^writeFileAtomicAsync: cannot write ".*f.bin": ENOENT/);
  // Renaming a file over a folder fails after the data was written: the temporary file must go.
  fs.mkdirSync(path.join(dir, 'sub'));
  const e2 = await rejected(writeFileAtomicAsync(path.join(dir, 'sub'), [new Uint8Array(1000), new Uint8Array(5)]));
  t.is(e2.code, 'SENET_IO');
  t.regex(e2.message, /"[^"]*sub": E/);
  t.deepEqual(fs.readdirSync(dir), ['sub']);
  t.deepEqual(fs.readdirSync(path.join(dir, 'sub')), []);
  const e3 = await rejected(saveCheckpointAsync(path.join(dir, 'sub'), tensors(), { step: 1 }));
  t.is(e3.code, 'SENET_IO');
  t.deepEqual(fs.readdirSync(dir), ['sub']);
  // Chunks and views are written as given, like the sync writer.
  await writeFileAtomicAsync(path.join(dir, 'f.bin'), Buffer.from('abc'));
  await writeFileAtomicAsync(path.join(dir, 'f.bin'), [new Uint8Array(Buffer.from('xyzw')).subarray(1), Uint8Array.of(0x21)]);
  t.is(fs.readFileSync(path.join(dir, 'f.bin'), 'utf8'), 'yzw!');
  writeFileAtomic(path.join(dir, 'g.bin'), [new Uint8Array(Buffer.from('xyzw')).subarray(1), Uint8Array.of(0x21)]);
  t.is(fs.readFileSync(path.join(dir, 'g.bin'), 'utf8'), 'yzw!');
  t.deepEqual(fs.readdirSync(dir).sort(), ['f.bin', 'g.bin', 'sub']);
});

test('the event loop turns during an async save and load', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'big.safetensors');
  const big = { w: { dtype: 'F32' as const, shape: [4, 1024, 1024], data: new Float32Array(4 * 1024 * 1024).fill(0.5) } };
  let stop = countTurns();
  await saveCheckpointAsync(file, big, { step: 1 });
  const saving = stop();
  stop = countTurns();
  const c = await loadCheckpointAsync<{ step: number }>(file);
  const loading = stop();
  t.is(c.state.step, 1);
  t.is(c.tensors.get('w')!.data.byteLength, 16 * 1024 * 1024);
  t.true(saving > 0, `${saving} turns while saving`);
  t.true(loading > 0, `${loading} turns while loading`);
  stop = countTurns();
  saveCheckpoint(file, big, { step: 2 });
  loadCheckpoint(file);
  t.is(stop(), 0); // the blocking ones, for contrast
});
