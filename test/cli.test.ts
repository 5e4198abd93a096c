import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensors } from '../lib/io';
import { tempDir, writeMnistDir } from './data/helpers';

// The `senet` command end to end, on a small MNIST-format dataset written here.
const cli = path.join(__dirname, '..', 'lib', 'cli.js');

function senet(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

test('help for the command and each subcommand', (t) => {
  for (const args of [['--help'], ['train', '--help'], ['eval', '--help'], ['info', '--help'], ['bench', '--help']]) {
    const r = senet(...args);
    t.is(r.code, 0, args.join(' '));
    t.regex(r.stdout, /Usage: senet/);
  }
  t.regex(senet('--version').stdout, /^\d+\.\d+\.\d+\n$/);
  // `senet help train` used to print the general help; the general help named the wrong default.
  for (const command of ['train', 'eval', 'bench', 'info']) t.is(senet('help', command).stdout, senet(command, '--help').stdout, command);
  t.is(senet('help', 'nope').code, 2);
  const general = senet('help').stdout;
  t.regex(general, /with no options: seresnext26_8x8d/);
  t.notRegex(general, /SE-ResNeXt-50 on Fashion-MNIST/);
  t.regex(senet('train', '--help').stdout, /--limit N +use only the first N training images \(0: all, the default\)/);
});

test('empty, unparsable and out-of-range flag values are usage errors naming the flag, before anything runs', (t) => {
  // Each used to mean something: --lr= trained at lr 0, --resume= started afresh, --out= wrote
  // nothing while naming the current folder, --epochs 1x was 1 to Number()... or NaN.
  const cases: [string[], RegExp][] = [
    [['train', '--lr='], /--lr: expected a number, received string ""/],
    [['train', '--lr', ' '], /--lr: expected a number, received string " "/],
    [['train', '--lr', '0x10'], /--lr: expected a number, received string "0x10"/],
    [['train', '--lr', 'Infinity'], /--lr: expected a number, received string "Infinity"/],
    [['train', '--lr', '0'], /--lr: expected a number > 0 and <= 100, received number 0/],
    [['train', '--resume='], /--resume: expected a non-empty path, received string ""/],
    [['train', '--out='], /--out: expected a non-empty path, received string ""/],
    [['train', '--data='], /--data: expected a non-empty path/],
    [['train', '--epochs', '1x'], /--epochs: expected an integer, received string "1x"/],
    [['train', '--epochs', '1e9'], /--epochs: expected an integer in \[1, 1000000\], received number 1000000000/],
    [['train', '--limit=-1'], /--limit: expected an integer >= 0, received number -1/],
    [['train', '--momentum', '1.5'], /--momentum: expected a number >= 0 and <= 1, received number 1\.5/],
    [['train', '--workers', '65'], /--workers: expected an integer in \[0, 64\], received number 65/],
    [['train', '--threads', '0'], /--threads: expected an integer in \[1, 4096\], received number 0/],
    [['train', '--augment', '--no-augment'], /--augment, --no-augment: expected one of them, received both/],
    [['train', 'extra'], /Unexpected argument 'extra'/],
    [['eval'], /--checkpoint: expected a checkpoint's path \(required\), received none/],
    [['eval', '--checkpoint='], /--checkpoint: expected a non-empty path/],
    [['eval', '--checkpoint', 'x', '--batch-size', '0'], /--batch-size: expected an integer in \[1, 65536\], received number 0/],
    [['bench', '--size', '0'], /--size: expected an integer in \[1, 4096\], received number 0/],
    [['bench', '--batch-size', '1'], /--batch-size: expected an integer in \[2, 65536\], received number 1/],
    [['bench', '--pytorch-format', 'nhwc'], /--pytorch-format: expected one of 'nchw', 'channels_last', 'both'/],
    [['info', '--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [args, pattern] of cases) {
    const r = senet(...args);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, pattern, args.join(' '));
    t.regex(r.stderr, /\[SENET_ARGUMENT\]\n/);
  }
});

test('without --out each run gets its own folder under runs/, and runs/latest points at the newest', (t) => {
  const data = tempDir('senet-cli-data-');
  writeMnistDir(data, 48, 16, 16, 16, false);
  const cwd = tempDir('senet-cli-cwd-');
  const args = ['train', '--dataset', 'mnist', '--data', data, '--batch-size', '16', '--val', '16', '--epochs', '1', '--progress', 'none', '--json'];
  const first = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, cwd });
  const second = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, cwd });
  t.is(first.status, 0, first.stderr);
  t.is(second.status, 0, second.stderr);
  const a = lastJson(first.stdout)['out'] as string;
  const b = lastJson(second.stdout)['out'] as string;
  t.not(a, b);
  t.is(path.dirname(a), fs.realpathSync(path.join(cwd, 'runs')));
  t.regex(path.basename(b), /^\d{8}-\d{6}(-\d+)?$/);
  t.is(fs.realpathSync(path.join(cwd, 'runs', 'latest')), b);
  for (const dir of [a, b]) {
    const lines = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
    t.is(lines.filter((l) => l.includes('"type":"epoch"')).length, 1, `${dir}: its own run only`);
  }
  // --resume without --out continues in the checkpoint's own folder (through the link).
  const resumed = spawnSync(process.execPath, [cli, 'train', '--resume', path.join('runs', 'latest', 'checkpoint.safetensors'), '--data', data, '--epochs', '2', '--progress', 'none', '--json'], { encoding: 'utf8', timeout: 120_000, cwd });
  t.is(resumed.status, 0, resumed.stderr);
  t.is(lastJson(resumed.stdout)['out'], b);
  t.is(fs.readdirSync(path.join(cwd, 'runs')).length, 3, 'two run folders and the link: no new folder');
});

test('bad flags are refused with the reason and exit code 2', (t) => {
  const unknown = senet('train', '--bogus');
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /Unknown option '--bogus' \[SENET_ARGUMENT\]/);
  const bad = senet('train', '--batch-size', '0');
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--batch-size: expected an integer in \[2, 65536\], received number 0/);
  t.is(senet('train', '--dataset', 'imagenet').code, 2);
  t.is(senet('nope').code, 2);
  const missing = senet('train', '--dataset', 'mnist', '--data', '/nonexistent/mnist');
  t.is(missing.code, 1);
  t.regex(missing.stderr, /\/nonexistent\/mnist.*\[SENET_IO\]/s);
});

test('info --json reports both backends', (t) => {
  const r = senet('info', '--json');
  t.is(r.code, 0);
  const info = lastJson(r.stdout) as { backends: { cpu: { available: boolean; onednn: string }; cuda: { available: boolean; reason: string } } };
  t.true(info.backends.cpu.available);
  t.regex(info.backends.cpu.onednn, /^\d+\.\d+/);
  t.true(info.backends.cuda.available || info.backends.cuda.reason.length > 0);
});

test('train --json, eval of its checkpoint, and resume', (t) => {
  const data = tempDir('senet-cli-data-');
  writeMnistDir(data, 160, 48, 28, 28, true);
  const out = path.join(tempDir('senet-cli-run-'), 'run');
  const common = ['--dataset', 'mnist', '--data', data, '--model', 'seresnext26_32x4d', '--batch-size', '32', '--val', '32', '--out', out, '--progress', 'lines', '--json'];
  const r = senet('train', ...common, '--epochs', '1');
  t.is(r.code, 0, r.stderr);
  const s = lastJson(r.stdout);
  for (const key of ['epochs', 'trainLoss', 'trainAccuracy', 'valAccuracy', 'testLoss', 'testAccuracy', 'imagesPerSecond', 'device', 'model']) t.true(key in s, key);
  t.is(s['epochs'], 1);
  t.is(s['model'], 'seresnext26_32x4d');
  t.regex(r.stderr, /epoch 1\/1: train loss/);
  for (const f of ['metrics.jsonl', 'curves.svg', 'checkpoint.safetensors']) t.true(fs.existsSync(path.join(out, f)), f);

  const e = senet('eval', '--checkpoint', path.join(out, 'checkpoint.safetensors'), '--dataset', 'mnist', '--data', data, '--batch-size', '16', '--progress', 'lines', '--json');
  t.is(e.code, 0, e.stderr);
  t.is(lastJson(e.stdout)['testAccuracy'], s['testAccuracy']);
  t.regex(e.stderr, /^eval {2}step 3\/3 {2}loss \d+\.\d{4} {2}acc \d+\.\d% {2}\d+ img\/s/m, 'progress over the 48 test images in batches of 16');

  const resumed = senet('train', '--resume', path.join(out, 'checkpoint.safetensors'), '--epochs', '2', '--data', data, '--out', out, '--progress', 'none', '--json');
  t.is(resumed.code, 0, resumed.stderr);
  t.is(lastJson(resumed.stdout)['epochs'], 2);
  const lines = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
  t.is(lines.filter((l) => l.includes('"type":"epoch"')).length, 2);
});

test('Ctrl-C (SIGINT) finishes the step, checkpoints, exits 130 and names the resume; resuming matches a straight run', async (t) => {
  const data = tempDir('senet-cli-sigint-');
  writeMnistDir(data, 160, 32, 28, 28, true);
  // --threads fixes the team, so that the runs can be bit-identical.
  const common = ['--dataset', 'mnist', '--data', data, '--model', 'seresnext26_32x4d', '--batch-size', '16', '--val', '32', '--epochs', '2', '--seed', '3', '--threads', '2'];
  const straightOut = path.join(tempDir('senet-cli-straight-'), 'run');
  t.is(senet('train', ...common, '--out', straightOut, '--progress', 'none').code, 0);

  const out = path.join(tempDir('senet-cli-int-'), 'run');
  const child = spawn(process.execPath, [cli, 'train', ...common, '--out', out, '--progress', 'lines'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let sent = false;
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    // Interrupt once the first epoch is under way.
    if (!sent && /epoch 1\/2 {2}step [2-7]\/8/.test(stderr)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  t.true(sent, stderr);
  t.is(code, 130, stderr);
  const m = /stopped at epoch (\d+) step (\d+); resume with --resume (\S+)/.exec(stderr);
  t.truthy(m, stderr);
  t.is(m![3], path.join(out, 'checkpoint.safetensors'));

  const resumed = senet('train', '--resume', m![3]!, '--data', data, '--out', out, '--progress', 'none', '--threads', '2');
  t.is(resumed.code, 0, resumed.stderr);
  const a = readSafetensors(path.join(out, 'checkpoint.safetensors')).tensors;
  const b = readSafetensors(path.join(straightOut, 'checkpoint.safetensors')).tensors;
  const differ = [...b.keys()].filter((k) => k.startsWith('model.') && !Buffer.from(a.get(k)!.data).equals(Buffer.from(b.get(k)!.data)));
  t.deepEqual(differ, [], 'interrupted + resumed = straight, bit for bit');
});
