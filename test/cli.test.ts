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
  for (const args of [['--help'], ['train', '--help'], ['eval', '--help'], ['info', '--help']]) {
    const r = senet(...args);
    t.is(r.code, 0, args.join(' '));
    t.regex(r.stdout, /Usage: senet/);
  }
  t.regex(senet('--version').stdout, /^\d+\.\d+\.\d+\n$/);
});

test('bad flags are refused with the reason and exit code 2', (t) => {
  const unknown = senet('train', '--bogus');
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /Unknown option '--bogus' \[SENET_ARGUMENT\]/);
  const bad = senet('train', '--batch-size', '0');
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--batch-size: expected an integer >= 1, received number 0/);
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

  const e = senet('eval', '--checkpoint', path.join(out, 'checkpoint.safetensors'), '--dataset', 'mnist', '--data', data, '--json');
  t.is(e.code, 0, e.stderr);
  t.is(lastJson(e.stdout)['testAccuracy'], s['testAccuracy']);

  const resumed = senet('train', '--resume', path.join(out, 'checkpoint.safetensors'), '--epochs', '2', '--data', data, '--out', out, '--progress', 'none', '--json');
  t.is(resumed.code, 0, resumed.stderr);
  t.is(lastJson(resumed.stdout)['epochs'], 2);
  const lines = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
  t.is(lines.filter((l) => l.includes('"type":"epoch"')).length, 2);
});

test('Ctrl-C (SIGINT) finishes the step, checkpoints, exits 130 and names the resume; resuming matches a straight run', async (t) => {
  const data = tempDir('senet-cli-sigint-');
  writeMnistDir(data, 160, 32, 28, 28, true);
  const common = ['--dataset', 'mnist', '--data', data, '--model', 'seresnext26_32x4d', '--batch-size', '16', '--val', '32', '--epochs', '2', '--seed', '3'];
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

  const resumed = senet('train', '--resume', m![3]!, '--data', data, '--out', out, '--progress', 'none');
  t.is(resumed.code, 0, resumed.stderr);
  const a = readSafetensors(path.join(out, 'checkpoint.safetensors')).tensors;
  const b = readSafetensors(path.join(straightOut, 'checkpoint.safetensors')).tensors;
  const differ = [...b.keys()].filter((k) => k.startsWith('model.') && !Buffer.from(a.get(k)!.data).equals(Buffer.from(b.get(k)!.data)));
  t.deepEqual(differ, [], 'interrupted + resumed = straight, bit for bit');
});
