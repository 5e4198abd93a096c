/**
 * Precision modes at the model, API and command level: what each mode allocates and computes,
 * that fp32 and tf32 are the same on the CPU, that bf16 keeps its weight copy in step with the
 * float32 weights, and the typed refusals where bf16 cannot run.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backends, createModel, defaultTrainingPrecision, getNumThreads, ops, precisionSupport, resetNumThreads, setNumThreads, SGD, tensor, type SEResNeXtConfig } from '../lib';
import { codeOf } from './helpers';
import { tempDir, writeMnistDir } from './data/helpers';
import { bf16Bits } from './ops/bf16_support';
import { TINY } from './train/tiny';

const bf16 = backends().cpu.bf16;
const cli = path.join(__dirname, '..', 'lib', 'cli.js');
const SMALL: SEResNeXtConfig = { ...TINY, stem: 'imagenet', inChannels: 3, numClasses: 5 };

function batch(n: number, size: number, channels: number) {
  const x = new Float32Array(n * size * size * channels).map((_, i) => Math.sin(i * 0.37));
  return tensor(x, [n, size, size, channels]);
}

test('fp32 and tf32 compute the same bits on the CPU; fp32 models have no bf16 copies', (t) => {
  // A fixed team: the default one shrinks while other processes keep cores busy (as other test
  // files do), and a team of another size may sum in another order.
  setNumThreads(getNumThreads());
  t.teardown(resetNumThreads);
  const a = createModel(SMALL, { device: 'cpu', seed: 3 });
  const b = createModel(SMALL, { device: 'cpu', seed: 3, precision: 'tf32' });
  t.is(a.precision, 'fp32');
  t.is(b.precision, 'tf32');
  t.is(a.params.copies, null);
  const x = batch(4, 16, 3);
  t.deepEqual(Array.from(a.logits(x).toArray() as Float32Array), Array.from(b.logits(x).toArray() as Float32Array));
  for (const m of [a, b]) m.dispose();
  x.dispose();
});

test('precision is checked: unknown names are SENET_ARGUMENT; bf16 is offered on CUDA and is its default', (t) => {
  t.is(codeOf(() => createModel(SMALL, { device: 'cpu', precision: 'fp16' as 'fp32' })), 'SENET_ARGUMENT');
  t.true(precisionSupport('cuda', 'bf16').supported);
  t.is(defaultTrainingPrecision('cuda'), 'bf16');
  t.is(defaultTrainingPrecision('cpu'), bf16.supported ? 'bf16' : 'fp32');
});

if (!bf16.supported) {
  test.skip(`bf16 models [skipped: ${bf16.reason}]`, () => undefined);
} else {
  test('a bf16 model: bf16 activations, float32 logits, its weight copy follows loadStateDict and SGD', (t) => {
    const m = createModel(SMALL, { device: 'cpu', seed: 5, precision: 'bf16' });
    t.is(m.precision, 'bf16');
    const copies = m.params.copies!;
    t.is(copies.dtype, 'bfloat16');
    const values = () => m.params.values.toArray() as Float32Array;
    const inStep = () => {
      const v = values(), c = copies.toArray() as Uint16Array;
      return v.every((x, i) => c[i] === bf16Bits(x));
    };
    t.true(inStep(), 'initialised weights are copied');
    const state = m.stateDict();
    const w = state.get('conv1.weight')!;
    (w.data as Float32Array).fill(0.25);
    m.loadStateDict(state);
    t.true(inStep(), 'loadStateDict rewrites the copy');

    const x = batch(4, 16, 3);
    const labels = tensor(new BigInt64Array([0n, 1n, 2n, 3n]), [4]);
    const sgd = new SGD(m, { lr: 0.1, momentum: 0.9 });
    const before = Array.from(copies.toArray() as Uint16Array);
    const logits = m.logits(x);
    t.is(logits.dtype, 'float32');
    const dl = ops.crossEntropyBackward(logits, labels);
    m.backward(dl);
    t.true((m.params.grads.toArray() as Float32Array).some((g) => g !== 0), 'float32 gradients');
    sgd.step();
    t.notDeepEqual(Array.from(copies.toArray() as Uint16Array), before);
    t.true(inStep(), 'SGD rewrites the copy from the updated weights');
    for (const v of [x, labels, dl]) v.dispose();
    sgd.dispose();
    m.dispose();
  });

  test('without bf16 instructions bf16 is refused with SENET_UNSUPPORTED naming the ISA; cast still works', (t) => {
    // oneDNN's effective ISA honours DNNL_MAX_CPU_ISA: a process capped below avx512_core_bf16
    // is what an older CPU looks like.
    const script = `
      const s = require(${JSON.stringify(path.join(__dirname, '..', 'lib'))});
      const out = { bf16: s.backends().cpu.bf16 };
      try { s.createModel('seresnext26_8x8d', { device: 'cpu', precision: 'bf16' }); } catch (e) { out.model = [e.code, e.message]; }
      const h = s.ops.cast(s.tensor(new Float32Array([1.5, -2]), [2]), 'bfloat16');
      out.cast = Array.from(h.toArray());
      try { s.ops.add(h, h); } catch (e) { out.add = [e.code, e.message]; }
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, DNNL_MAX_CPU_ISA: 'AVX512_CORE' } });
    t.is(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { bf16: { supported: boolean; reason: string }; model: [string, string]; cast: number[]; add: [string, string] };
    t.false(out.bf16.supported);
    t.regex(out.bf16.reason, /effective ISA avx512_core; bf16 needs avx512_core_bf16 or AMX/);
    t.is(out.model[0], 'SENET_UNSUPPORTED');
    t.regex(out.model[1], /precision 'bf16' on cpu: this CPU has no bf16 instructions/);
    t.deepEqual(out.cast, [0x3fc0, 0xc000]);
    t.is(out.add[0], 'SENET_UNSUPPORTED');
  });

  test('senet train --precision: the first line names it, the checkpoint keeps it, eval and resume use it', (t) => {
    const data = tempDir('senet-prec-data-');
    writeMnistDir(data, 96, 32, 28, 28, true);
    const out = path.join(tempDir('senet-prec-run-'), 'run');
    const common = ['--dataset', 'mnist', '--data', data, '--model', 'seresnext26_8x8d', '--batch-size', '16', '--val', '16', '--progress', 'none', '--json'];
    const fp32 = spawnSync(process.execPath, [cli, 'train', ...common, '--epochs', '1', '--precision', 'fp32', '--out', path.join(out, '..', 'fp32')], { encoding: 'utf8' });
    t.is(fp32.status, 0, fp32.stderr);
    t.regex(fp32.stderr, /, float32 →/);
    const r = spawnSync(process.execPath, [cli, 'train', ...common, '--epochs', '1', '--out', out], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
    // `senet train` picks the GPU where there is one: bf16 is the default there too.
    t.regex(r.stderr, /, bf16 mixed precision \(the default (where the CPU has fast bf16|on the GPU); --precision fp32 for float32\) →/);
    t.is(JSON.parse(r.stdout.trim().split('\n').pop()!).precision, 'bf16');
    const ck = path.join(out, 'checkpoint.safetensors');
    const e = spawnSync(process.execPath, [cli, 'eval', '--checkpoint', ck, '--data', data, '--json'], { encoding: 'utf8' });
    t.is(e.status, 0, e.stderr);
    t.is(JSON.parse(e.stdout.trim().split('\n').pop()!).precision, 'bf16');
    const resumed = spawnSync(process.execPath, [cli, 'train', '--resume', ck, '--epochs', '2', '--data', data, '--progress', 'none', '--json'], { encoding: 'utf8' });
    t.is(resumed.status, 0, resumed.stderr);
    t.is(JSON.parse(resumed.stdout.trim().split('\n').pop()!).precision, 'bf16', 'a resumed run keeps its precision');
    const epochs = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; precision?: string }).filter((l) => l.type === 'epoch');
    t.deepEqual(epochs.map((l) => l.precision), ['bf16', 'bf16']);
  });
}
