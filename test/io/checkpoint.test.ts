import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCheckpoint, saveCheckpoint, toBigInt64, toFloat32, writeFileAtomic, writeSafetensors, type TensorToWrite } from '../../lib/io';
import { WEIGHT_COUNT, WEIGHT_TENSORS, weightAt, weightName, type KillTestState } from './kill-during-save';

const ROOT = path.join(__dirname, '..', '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'parity-tiny-cifar-stem.safetensors');

/** A fresh folder, removed when the test ends (passed or failed). */
function tmpDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'senet-ckpt-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface TrainState {
  step: number;
  epoch: number;
  lr: number;
  name: string;
  history: { step: number; loss: number }[];
}

function tensors(step: number): Record<string, TensorToWrite> {
  return {
    'conv1.weight': { dtype: 'F32', shape: [2, 3], data: Float32Array.from({ length: 6 }, (_, i) => step + i / 8) },
    'bn1.num_batches_tracked': { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(step)) },
    'sampler.order': { dtype: 'I32', shape: [4], data: Int32Array.of(3, 1, 0, 2) },
    'sgd.mask': { dtype: 'U8', shape: [3], data: Uint8Array.of(1, 0, 1) },
  };
}

test('save and load round trip, overwriting', (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'ckpt.safetensors');
  const state: TrainState = { step: 7, epoch: 1, lr: 0.05, name: 'ünï ✓', history: [{ step: 6, loss: 2.25 }, { step: 7, loss: 2 }] };
  saveCheckpoint(file, tensors(7), state);
  let c = loadCheckpoint<TrainState>(file);
  t.deepEqual(c.state, state);
  t.is(c.metadata.format, 'senet-checkpoint/1');
  t.deepEqual(JSON.parse(c.metadata['senet.checkpoint']), state);
  t.deepEqual([...c.tensors.keys()].sort(), Object.keys(tensors(7)).sort());
  t.deepEqual(toFloat32(c.tensors.get('conv1.weight')!), tensors(7)['conv1.weight'].data as Float32Array);
  t.deepEqual(c.tensors.get('conv1.weight')!.shape, [2, 3]);
  t.deepEqual([...toBigInt64(c.tensors.get('bn1.num_batches_tracked')!)], [7n]);
  t.deepEqual([...toBigInt64(c.tensors.get('sampler.order')!)], [3n, 1n, 0n, 2n]);
  t.deepEqual([...c.tensors.get('sgd.mask')!.data], [1, 0, 1]);

  saveCheckpoint(file, tensors(8), { ...state, step: 8 });
  c = loadCheckpoint<TrainState>(file);
  t.is(c.state.step, 8);
  t.is(toFloat32(c.tensors.get('conv1.weight')!)[0], 8);
  t.deepEqual(fs.readdirSync(dir), ['ckpt.safetensors'], 'no temporary files are left');
});

test('any JSON value is a state; values JSON cannot keep are refused before writing', (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'ckpt.safetensors');
  for (const state of [null, 3, 'text', [1, 'a'], {}]) {
    saveCheckpoint(file, {}, state);
    t.deepEqual(loadCheckpoint(file).state, state);
  }
  fs.rmSync(file);
  const cyclic: { self?: unknown } = {};
  cyclic.self = cyclic;
  const refused: [unknown, RegExp][] = [
    [{ lr: NaN }, /saveCheckpoint: state\.lr: expected a finite number, received number NaN/],
    [{ loss: [1, Infinity] }, /finite number/],
    [{ step: 1n }, /saveCheckpoint: state: expected a JSON-serializable value/],
    [cyclic, /JSON-serializable/],
    [undefined, /received undefined/],
    [() => 1, /received a function/],
  ];
  for (const [state, message] of refused) {
    t.throws(() => saveCheckpoint(file, {}, state), { code: 'SENET_ARGUMENT', message });
  }
  t.deepEqual(fs.readdirSync(dir), [], 'nothing was written');
});

test('a file that is not a senet checkpoint gives SENET_FORMAT; a missing one SENET_IO', (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'x.safetensors');
  t.throws(() => loadCheckpoint(FIXTURE), {
    code: 'SENET_FORMAT',
    message: /loadCheckpoint: .*parity-tiny-cifar-stem.safetensors: metadata format: expected 'senet-checkpoint\/1' \(a senet checkpoint\), received string "senet-parity\/1"/,
  });
  writeSafetensors(file, tensors(1));
  t.throws(() => loadCheckpoint(file), { code: 'SENET_FORMAT', message: /metadata format: .*received none/ });
  writeSafetensors(file, {}, { format: 'senet-checkpoint/1' });
  t.throws(() => loadCheckpoint(file), { code: 'SENET_FORMAT', message: /metadata senet.checkpoint: expected the JSON state, received none/ });
  writeSafetensors(file, {}, { format: 'senet-checkpoint/1', 'senet.checkpoint': '{"step":' });
  t.throws(() => loadCheckpoint(file), { code: 'SENET_FORMAT', message: /metadata senet.checkpoint: expected valid JSON/ });
  fs.writeFileSync(file, 'not a safetensors file');
  t.throws(() => loadCheckpoint(file), { code: 'SENET_FORMAT', message: /x.safetensors: header length/ });
  t.throws(() => loadCheckpoint(path.join(dir, 'missing.safetensors')), { code: 'SENET_IO', message: /missing.safetensors.*ENOENT/ });
});

test('writeFileAtomic reports failures as SENET_IO and leaves no temporary file', (t) => {
  const dir = tmpDir(t);
  t.throws(() => writeFileAtomic(path.join(dir, 'no', 'such', 'folder', 'f.bin'), Uint8Array.of(1)), {
    code: 'SENET_IO',
    message: /writeFileAtomic: cannot write ".*f.bin": ENOENT/,
  });
  // Renaming a file over a folder fails after the data was written: the temporary file must go.
  fs.mkdirSync(path.join(dir, 'sub'));
  t.throws(() => writeFileAtomic(path.join(dir, 'sub'), new Uint8Array(1000)), { code: 'SENET_IO', message: /"[^"]*sub": E/ });
  t.deepEqual(fs.readdirSync(dir), ['sub']);
  t.deepEqual(fs.readdirSync(path.join(dir, 'sub')), []);
  writeFileAtomic(path.join(dir, 'f.bin'), Buffer.from('abc'));
  writeFileAtomic(path.join(dir, 'f.bin'), new Uint8Array(Buffer.from('xyzw')).subarray(1));
  t.is(fs.readFileSync(path.join(dir, 'f.bin'), 'utf8'), 'yzw');
  t.deepEqual(fs.readdirSync(dir).sort(), ['f.bin', 'sub']);
});

/**
 * Runs kill-during-save.js until it has completed at least one save, kills it with SIGKILL at a
 * random moment (up to about two saves later, so often mid-write), and returns the last step it
 * reported and its pid.
 */
function runAndKill(file: string): Promise<{ reported: number; pid: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'kill-during-save.js'), file, '30'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let reported = 0;
    let timer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const complete = out.slice(0, out.lastIndexOf('\n')).split('\n').filter((l) => l !== '');
      if (complete.length === 0) return;
      const [step, ms] = complete[complete.length - 1].split(' ').map(Number);
      reported = step;
      if (timer === undefined) timer = setTimeout(() => child.kill('SIGKILL'), Math.random() * 2 * Math.max(ms, 5));
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`kill-during-save exited with ${code ?? signal}: ${err}`));
      else resolve({ reported, pid: child.pid! });
    });
  });
}

/** How many times the saving child is killed. */
const KILLS = 5;

test('a checkpoint save killed at any moment leaves one complete checkpoint', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'ckpt.safetensors');
  let midWrite = 0;
  let previous = 0;
  for (let kill = 0; kill < KILLS; kill++) {
    const { reported, pid } = await runAndKill(file);
    // The save in flight may have been renamed into place before its line was printed.
    const c = loadCheckpoint<KillTestState>(file);
    const step = c.state.step;
    t.true(step === reported || step === reported + 1, `kill ${kill}: step ${step}, last reported ${reported}`);
    t.true(step > previous, 'the child resumed from the previous checkpoint');
    previous = step;
    t.is(c.state.note, `step ${step}`);
    t.deepEqual([...toBigInt64(c.tensors.get('step')!)], [BigInt(step)]);
    // Every element of the first weight tensor, then the others byte for byte against it.
    const first = c.tensors.get(weightName(0))!;
    const w = toFloat32(first);
    t.is(w.length, WEIGHT_COUNT);
    let bad = -1;
    for (let i = 0; i < w.length && bad < 0; i++) if (w[i] !== weightAt(step, i)) bad = i;
    t.is(bad, -1, `kill ${kill}: ${weightName(0)}[${bad}] is not from step ${step}`);
    for (let j = 1; j < WEIGHT_TENSORS; j++) {
      t.is(Buffer.compare(c.tensors.get(weightName(j))!.data, first.data), 0, `kill ${kill}: ${weightName(j)} differs from ${weightName(0)}`);
    }
    // A kill during a save leaves that save's temporary file (named with the child's pid), and
    // nothing else: writeFileAtomic cannot clean up after SIGKILL. Remove it for the next round.
    const others = fs.readdirSync(dir).filter((f) => f !== 'ckpt.safetensors');
    t.true(others.length <= 1, `left behind: ${others.join(', ')}`);
    for (const f of others) {
      t.regex(f, new RegExp(`^\\.ckpt\\.safetensors\\.${pid}\\.[a-z0-9]+\\.tmp$`));
      fs.rmSync(path.join(dir, f));
      midWrite++;
    }
  }
  t.log(`${midWrite} of ${KILLS} kills landed during a save's write`);
});
