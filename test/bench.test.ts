import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ops, randn } from '../lib';
import { formatBench, pythonCandidates, runBench, type BenchResult } from '../lib/bench';
import { convolutionLibraryMs } from '../lib/bench/run';
import type { ConvolutionAlgorithms } from '../lib/backends';
import { OP_FAMILIES, profileReport, profiling, startProfiling, stopProfiling } from '../lib/profile';

// The benchmark's code path on a tiny network for a couple of steps: the JSON's shape and that
// every figure is positive. PyTorch never runs here (a stand-in "Python" answers for it).
const tiny = { model: 'seresnext26_8x8d', batchSize: 2, size: 16, channels: 1, classes: 3, device: 'cpu', steps: 2, warmup: 1, repeats: 2, log: null } as const;
const cli = path.join(__dirname, '..', 'lib', 'cli.js');

function checkShape(t: import('ava').ExecutionContext, r: BenchResult): void {
  t.true(r.trainImagesPerSecond! > 0, 'trainImagesPerSecond');
  t.true(r.inferImagesPerSecond! > 0, 'inferImagesPerSecond');
  t.true(r.peakRssBytes > 10 * 2 ** 20, 'peakRssBytes');
  t.true(r.baselineRssBytes > 0 && r.baselineRssBytes <= r.peakRssBytes, 'baselineRssBytes');
  t.is(r.peakGpuBytes, null);
  t.is(r.error, null);
  t.like(r.config, { model: 'seresnext26_8x8d', batchSize: 2, size: 16, channels: 1, classes: 3, stem: 'imagenet', steps: 2, warmup: 1, repeats: 2, dtype: 'float32', layout: 'nhwc' });
  t.like(r.config.optimizer, { kind: 'SGD', momentum: 0.9, weightDecay: 1e-4 });
  t.true(r.config.parameters > 1e6);
  t.is(r.device.kind, 'cpu');
  t.true(r.device.threads >= 1);
  for (const k of ['senet', 'oneDNN', 'node']) t.regex(r.versions[k] ?? '', /\d+\.\d+/, k);
  t.is(r.trainStepMs.length, 2);
  t.is(r.inferStepMs.length, 2);
}

test('runBench measures training and inference, with a breakdown by op family', async (t) => {
  const r = await runBench({ ...tiny, breakdown: true, pytorch: false });
  checkShape(t, r);
  t.is(r.pytorch, null);
  t.regex(r.pytorchReason ?? '', /not asked/);
  const b = r.breakdown!;
  t.deepEqual(Object.keys(b.families), [...OP_FAMILIES]);
  for (const f of ['conv', 'se', 'pool', 'linear', 'loss', 'sgd', 'data'] as const) t.true(b.families[f] > 0, f);
  t.true(b.stepMs > 0);
  const sum = OP_FAMILIES.reduce((s, f) => s + b.families[f], 0);
  t.true(Math.abs(b.stepMs - sum - b.unaccountedMs) < 1e-6);
  t.true(sum <= b.stepMs * 1.05, 'the families fit in the step');
  // Per step: each conv + BN once forward and once backward, one SGD step.
  t.is(b.ops['convBnForward']!.family, 'conv');
  t.is(b.ops['convBnForward']!.calls, b.ops['convBnBackward']!.calls);
  t.is(b.ops['sgdStep']!.calls, 1);
  t.false(profiling(), 'the profiler is off afterwards');
  t.regex(formatBench(r), /train images\/s[\s\S]*conv \+ BN \+ ReLU/);
});

test('the profiler records only while on, per family and per op', (t) => {
  const a = randn([3, 4], { seed: 1 });
  ops.add(a, a, a);
  startProfiling();
  t.true(profiling());
  ops.add(a, a, a);
  ops.add(a, a, a);
  const r = stopProfiling();
  t.false(profiling());
  t.is(r.ops['add']!.calls, 2);
  t.is(r.ops['add']!.family, 'other');
  t.true(r.families.other > 0);
  t.is(r.families.conv, 0);
  ops.add(a, a, a);
  t.is(profileReport().ops['add']!.calls, 2, 'nothing recorded while off');
  a.dispose();
});

test('senet bench --json prints one JSON object last; --help and the top-level help list it', (t) => {
  const r = spawnSync(process.execPath, [cli, 'bench', '--model', 'seresnext26_8x8d', '--batch-size', '2', '--size', '16', '--classes', '3', '--device', 'cpu',
    '--steps', '1', '--warmup', '1', '--repeats', '1', '--no-pytorch', '--json'], { encoding: 'utf8', timeout: 120_000 });
  t.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const j = JSON.parse(lines[lines.length - 1]!) as BenchResult;
  for (const k of ['trainImagesPerSecond', 'inferImagesPerSecond', 'peakRssBytes', 'peakGpuBytes', 'config', 'device', 'versions', 'breakdown', 'pytorch']) t.true(k in j, k);
  t.true(j.trainImagesPerSecond! > 0 && j.inferImagesPerSecond! > 0);
  t.is(j.breakdown, null);
  t.is(j.pytorch, null);
  const help = spawnSync(process.execPath, [cli, 'bench', '--help'], { encoding: 'utf8' });
  t.is(help.status, 0);
  t.regex(help.stdout, /Usage: senet bench[\s\S]*--breakdown[\s\S]*--no-pytorch/);
  t.regex(spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' }).stdout, /bench/);
  const bad = spawnSync(process.execPath, [cli, 'bench', '--steps', '0'], { encoding: 'utf8' });
  t.is(bad.status, 2);
  t.regex(bad.stderr, /--steps: expected an integer in \[1, 1000000\], received number 0/);
});

test('the PyTorch side: its JSON is read and the ratios computed (a stand-in answers for Python)', async (t) => {
  t.deepEqual(pythonCandidates({ SENET_PYTHON: '/opt/py' }), ['/opt/py', 'python3', '/usr/bin/python3']);
  t.deepEqual(pythonCandidates({}), ['python3', '/usr/bin/python3']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'senet-bench-'));
  const fake = path.join(dir, 'python');
  const run = { memoryFormat: 'nchw', trainImagesPerSecond: 10, inferImagesPerSecond: 20, trainStepMs: [1], inferStepMs: [1], peakRssBytes: 2 ** 30, baselineRssBytes: 2 ** 28, peakGpuBytes: null, parameters: 1, network: 'stand-in', breakdown: null };
  const answer = { ...run, versions: { torch: '0.0-stand-in' }, device: 'cpu', deviceName: 'x', threads: 2, defaultThreads: 1, tf32: null, runs: [run] };
  fs.writeFileSync(fake, `#!/bin/sh\nif [ "$1" = "-c" ]; then echo 0.0-stand-in; else echo '${JSON.stringify(answer)}'; fi\n`, { mode: 0o755 });
  const saved = process.env['SENET_PYTHON'];
  process.env['SENET_PYTHON'] = fake;
  try {
    const r = await runBench({ ...tiny, breakdown: false, pytorch: true });
    checkShape(t, r);
    t.is(r.pytorchReason, null);
    t.is(r.versions['torch'], '0.0-stand-in');
    const p = r.pytorch!;
    t.true(Math.abs(p.ratios.trainImagesPerSecond! - r.trainImagesPerSecond! / 10) < 1e-9);
    t.true(Math.abs(p.ratios.inferImagesPerSecond! - r.inferImagesPerSecond! / 20) < 1e-9);
    t.true(Math.abs(p.ratios.peakRssBytes! - r.peakRssBytes / 2 ** 30) < 1e-9);
    t.is(p.ratios.peakGpuBytes, null);
    t.deepEqual(Object.keys(p.ratiosByFormat), ['nchw']);
    t.regex(formatBench(r), /PyTorch \(NCHW\)/);
  } finally {
    if (saved === undefined) delete process.env['SENET_PYTHON'];
    else process.env['SENET_PYTHON'] = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('convolutionLibraryMs weighs each shape’s measured time by its calls in the profiled steps', (t) => {
  const entry = (shape: string, ms: [number, number, number], calls: [number, number, number]): ConvolutionAlgorithms => ({
    shape, forward: 'A', backwardData: 'B', backwardFilter: 'C', workspace: 0,
    forwardMs: ms[0], backwardDataMs: ms[1], backwardFilterMs: ms[2],
    forwardCalls: calls[0], backwardDataCalls: calls[1], backwardFilterCalls: calls[2],
  });
  const before = [entry('a', [1, 2, 3], [4, 4, 4])];
  // Two steps: shape a ran twice a step (the stem, without dx, once), shape b (new, dx by a
  // product with no measured time) once a step.
  const after = [entry('a', [1, 2, 3], [8, 8, 8]), entry('b', [0.5, 0, 0.25], [2, 2, 2])];
  const r = convolutionLibraryMs(before, after, 2);
  t.deepEqual(r, { forward: 2 * 1 + 0.5, backwardData: 2 * 2, backwardFilter: 2 * 3 + 0.25, unmeasured: 1 });
  t.deepEqual(convolutionLibraryMs(after, after, 2), { forward: 0, backwardData: 0, backwardFilter: 0, unmeasured: 0 });
});
