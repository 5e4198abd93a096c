import test from 'ava';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../../lib/io';
import { runTraining, type RunOptions } from '../../lib/train/run';
import { LOCK_FILE } from '../../lib/train/run_folder';
import { rejected, tempDir, writeMnistDir } from '../data/helpers';

// What senet train does with its options (runTraining, in this process): the rules of resuming,
// of run folders, and the checks made before anything trains.

const data = tempDir('senet-run-data-');
writeMnistDir(data, 80, 16, 16, 16, false); // 64 training images after --val 16: 4 steps of 16

const base: Partial<RunOptions> = { dataset: 'mnist', data, batchSize: 16, valCount: 16, progress: 'none', workers: 0, lr: 0.1 };

function sink(): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const stream = { isTTY: false, write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WriteStream;
  return { stream, text: () => chunks.join('') };
}

function epochs(out: string): { epoch: number; lr: number }[] {
  return fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as { type: string; epoch: number; lr: number })
    .filter((r) => r.type === 'epoch');
}

const run = (options: Partial<RunOptions>, s = sink()) => runTraining({ ...base, ...options }, s.stream);

test('resuming a finished run with more epochs: flags win over the checkpoint, the schedule is rebuilt, and it says so', async (t) => {
  const out = path.join(tempDir('senet-run-'), 'run');
  await run({ out, epochs: 1 });
  const ck = path.join(out, 'checkpoint.safetensors');

  // Before: the checkpoint's cosine schedule, ended, trained every new epoch at learning rate 0.
  const s = sink();
  const r = await runTraining({ resume: ck, data, epochs: 2, lr: 0.05, schedule: 'constant', progress: 'none', workers: 0 }, s.stream);
  t.is(r.epochs, 2);
  t.is(r.model, 'seresnext26_8x8d');
  t.deepEqual(epochs(out).map((e) => e.epoch), [1, 2], 'one line per epoch, none twice');
  t.is(epochs(out)[1]!.lr, 0.05);
  t.regex(s.text(), /resuming .*checkpoint\.safetensors at epoch 2\/2, step 1\/4: settings from the checkpoint, except --epochs, --lr, --schedule from the command line; the schedule is rebuilt for --lr, --schedule, --epochs: learning rate 0\.0500 now \(the checkpoint's schedule was at 0\.00\)/);
  t.regex(s.text(), /constant learning rate 0\.05/);

  // A new --epochs alone rebuilds the checkpoint's schedule (now constant) over the new length.
  await runTraining({ resume: ck, data, epochs: 3, progress: 'none', workers: 0 }, sink().stream);
  t.is(epochs(out)[2]!.lr, 0.05);

  // Nothing more to do is refused, not a run that trains nothing and exits 0.
  for (const more of [{}, { epochs: 3 }, { epochs: 2 }]) {
    const e = await rejected(runTraining({ resume: ck, data, ...more }, sink().stream));
    t.is(e.code, 'SENET_ARGUMENT');
    t.regex(e.message, /^senet train: --epochs: expected more than the 3 epoch\(s\) the run in .* has finished, to train further/);
  }
});

test('resuming refuses flags the checkpoint fixes, and reports the network it trains', async (t) => {
  const out = path.join(tempDir('senet-run-'), 'run');
  await run({ out, epochs: 1 });
  const ck = path.join(out, 'checkpoint.safetensors');
  const cases: [Partial<RunOptions>, RegExp][] = [
    [{ model: 'seresnext50_32x4d' }, /--model: expected the checkpoint's string "seresnext26_8x8d" \(a resumed run keeps its network\), or no --model, received string "seresnext50_32x4d"/],
    [{ stem: 'cifar' }, /--stem: expected the checkpoint's string "imagenet"/],
    [{ dataset: 'fashion-mnist' }, /--dataset: expected the checkpoint's string "mnist" \(a resumed run keeps its dataset\)/],
  ];
  for (const [flags, pattern] of cases) {
    const e = await rejected(runTraining({ resume: ck, data, epochs: 2, ...flags }, sink().stream));
    t.is(e.code, 'SENET_ARGUMENT');
    t.regex(e.message, pattern);
  }
  // The same values as the checkpoint's are fine.
  const r = await runTraining({ resume: ck, data, epochs: 2, model: 'seresnext26_8x8d', stem: 'imagenet', progress: 'none', workers: 0 }, sink().stream);
  t.is(r.model, 'seresnext26_8x8d');
  const state = JSON.parse(readSafetensors(ck).metadata['senet.checkpoint']!) as { info: { run: { model: string } } };
  t.is(state.info.run.model, 'seresnext26_8x8d');
});

test('a checkpoint that stopped mid-epoch keeps what orders its batches', async (t) => {
  const out = path.join(tempDir('senet-run-'), 'run');
  await run({ out, epochs: 1 });
  // The same run as if stopped after step 2 of epoch 1.
  const { tensors, metadata } = readSafetensors(path.join(out, 'checkpoint.safetensors'));
  const state = JSON.parse(metadata['senet.checkpoint']!) as Record<string, unknown>;
  state['position'] = { epoch: 0, batch: 2, globalStep: 2, partial: { loss: 4, correct: 3, images: 32, seconds: 1, skipped: 0 }, history: [] };
  state['optimizer'] = { ...(state['optimizer'] as object), stepCount: 2 };
  const mid = path.join(tempDir('senet-run-'), 'mid', 'checkpoint.safetensors');
  fs.mkdirSync(path.dirname(mid));
  const copy: Record<string, TensorToWrite> = {};
  for (const [name, v] of tensors) copy[name] = { dtype: v.dtype, shape: v.shape, data: v.data };
  writeSafetensors(mid, copy, { ...metadata, 'senet.checkpoint': JSON.stringify(state) });
  for (const [flags, name] of [[{ batchSize: 32 }, '--batch-size'], [{ seed: 5 }, '--seed'], [{ valCount: 8 }, '--val'], [{ limit: 40 }, '--limit']] as const) {
    const e = await rejected(runTraining({ resume: mid, data, ...flags }, sink().stream));
    t.is(e.code, 'SENET_ARGUMENT', name);
    t.regex(e.message, new RegExp(`${name}: expected the checkpoint's .*the checkpoint stopped in the middle of epoch 1, whose batches depend on it`));
  }
  const s = sink();
  const r = await runTraining({ resume: mid, data, progress: 'none', workers: 0, epochs: 1 }, s.stream);
  t.is(r.epochs, 1);
  t.regex(s.text(), /resuming .* at epoch 1\/1, step 3\/4: settings from the checkpoint, except --epochs from the command line; its schedule continues/);
});

test('a run folder that holds a run is refused unless --overwrite or --resume of its own checkpoint', async (t) => {
  const out = path.join(tempDir('senet-run-'), 'run');
  await run({ out, epochs: 1 });
  const e = await rejected(run({ out, epochs: 1 }));
  t.is(e.code, 'SENET_ARGUMENT');
  t.regex(e.message, /^senet train: --out: expected a folder without a run in it \(or --resume of its checkpoint, or --overwrite to replace the run\), received .*run, which holds checkpoint\.safetensors, metrics\.jsonl, curves\.svg$/);
  t.deepEqual(epochs(out).map((x) => x.epoch), [1]);
  // A resumed run into another folder that holds a run is refused too.
  const other = path.join(tempDir('senet-run-'), 'other');
  await run({ out: other, epochs: 1 });
  t.is((await rejected(runTraining({ resume: path.join(out, 'checkpoint.safetensors'), out: other, data, epochs: 2 }, sink().stream))).code, 'SENET_ARGUMENT');
  await run({ out, epochs: 2, overwrite: true });
  t.deepEqual(epochs(out).map((x) => x.epoch), [1, 2], 'the old run replaced, not appended to');
  t.false(fs.existsSync(path.join(out, LOCK_FILE)), 'the lock is given back');
});

test('a run folder another senet train writes is refused naming its pid', async (t) => {
  const out = tempDir('senet-run-');
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    fs.writeFileSync(path.join(out, LOCK_FILE), JSON.stringify({ pid: child.pid, host: os.hostname(), started: 'now', token: 't' }));
    const e = await rejected(run({ out, epochs: 1 }));
    t.is(e.code, 'SENET_IO');
    t.regex(e.message, new RegExp(`^senet train: .*: expected a run folder no other run writes, received one in use by process ${child.pid}`));
    t.false(fs.existsSync(path.join(out, 'metrics.jsonl')));
  } finally {
    child.kill('SIGKILL');
  }
});

test('an incomplete last batch is dropped (a batch of one used to fail mid-epoch)', async (t) => {
  const out = path.join(tempDir('senet-run-'), 'run');
  const s = sink();
  // 33 images in batches of 16: 2 steps, the 33rd image left out of this epoch.
  const r = await run({ out, epochs: 1, limit: 33 }, s);
  t.is(r.epochs, 1);
  t.regex(s.text(), /33 training .* batch 16 \(2 steps per epoch\)/);
});

test('options that cannot work are refused before anything trains, naming the flag', async (t) => {
  const cases: [Partial<RunOptions>, string, RegExp][] = [
    [{ valCount: 80 }, 'SENET_ARGUMENT', /--val: expected fewer than the 80 training images of mnist\/train, received 80/],
    [{ batchSize: 65 }, 'SENET_ARGUMENT', /--batch-size: expected at most the 64 training images \(after --val 16\), received 65/],
    [{ limit: 10 }, 'SENET_ARGUMENT', /--batch-size: expected at most the 10 training images \(after --val 16 and --limit 10\), received 16/],
    [{ batchSize: 1 }, 'SENET_ARGUMENT', /--batch-size: expected an integer in \[2, 65536\], received number 1/],
    [{ lr: 0 }, 'SENET_ARGUMENT', /--lr: expected a number > 0 and <= 100, received number 0/],
    [{ warmupEpochs: 4, epochs: 3 }, 'SENET_ARGUMENT', /--warmup: expected at most --epochs \(3\), received 4/],
    [{ epochs: 1.5 }, 'SENET_ARGUMENT', /--epochs: expected an integer in \[1, 1000000\], received number 1\.5/],
    [{ bogus: 1 } as Partial<RunOptions>, 'SENET_ARGUMENT', /bogus: expected one of the run options/],
    [{ resume: '' }, 'SENET_ARGUMENT', /--resume: expected a non-empty path, received string ""/],
    [{ schedule: 'constant', warmupEpochs: 1 }, 'SENET_ARGUMENT', /--warmup: expected --schedule cosine \(the only schedule with a warmup\), received --schedule constant/],
    [{ schedule: 'step', warmupSteps: 10 }, 'SENET_ARGUMENT', /--warmup-steps: expected --schedule cosine/],
    [{ dataset: 'cifar10', data: undefined }, 'SENET_ARGUMENT', /--data: expected CIFAR-10's folder .*received none/],
  ];
  for (const [flags, code, pattern] of cases) {
    const out = path.join(tempDir('senet-run-'), 'run');
    const e = await rejected(run({ out, epochs: 1, ...flags }));
    t.is(e.code, code, JSON.stringify(flags));
    t.regex(e.message, pattern);
    t.false(fs.existsSync(path.join(out, 'metrics.jsonl')), 'nothing written');
  }
  const file = path.join(tempDir('senet-run-'), 'a-file');
  fs.writeFileSync(file, '');
  const e = await rejected(run({ out: path.join(file, 'run'), epochs: 1 }));
  t.is(e.code, 'SENET_IO');
  t.regex(e.message, /cannot create the run folder: .*a-file is a file, not a folder/);
});

test('the warmup lasts at least --warmup-steps (at most half the run), and the run line says how many', async (t) => {
  const line = async (options: Partial<RunOptions>) => {
    const s = sink();
    const stop = new AbortController();
    stop.abort();
    await rejected(run({ out: path.join(tempDir('senet-run-'), 'run'), ...options, signal: stop.signal }, s));
    return /cosine learning rate from [\d.]+ over \d+ epoch\(s\) after (\d+) warmup steps/.exec(s.text())?.[1];
  };
  // 4 steps per epoch: 0.2 epochs is under a step; 100 steps is more than half of 2 epochs.
  t.is(await line({ epochs: 2, schedule: 'cosine' }), '4');
  t.is(await line({ epochs: 60, schedule: 'cosine' }), '100');
  t.is(await line({ epochs: 60, schedule: 'cosine', warmupEpochs: 30 }), '120');
  t.is(await line({ epochs: 60, schedule: 'cosine', warmupSteps: 0, warmupEpochs: 0 }), '0');
});
