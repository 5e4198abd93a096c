/**
 * The parity fixtures in mixed precision. The yardstick is PyTorch's own bf16 autocast on the
 * same files, on the same kind of device: test/fixtures/bf16-yardstick.json for the CPU (printed by
 * ../shared/fixtures/tools/check_bf16.py), bf16-yardstick-cuda.json for CUDA (printed by
 * bench/pytorch/bf16_yardstick.py --device cuda; cuDNN rounds each convolution's output to bf16,
 * as senet's CUDA path does, where oneDNN keeps it in float32):
 * senet's bf16 must be within 1.5x of PyTorch's error on each figure — eval logits, train logits,
 * loss, and all gradients together (relative L2 against the float64 expectations). A folder of
 * fixtures ($SENET_PARITY_DIR, e.g. full-depth timm ones) may hold a bf16-yardstick.json of its own
 * (and a bf16-yardstick-cuda.json) in the same format.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backends, createModel, ops, tensor, type Device, type SEResNeXtConfig, type StateTensor } from '../lib';
import { readSafetensors, toBigInt64, toFloat32, type SafetensorsFile } from '../lib/io';
import { nchwToNhwc } from '../lib/nn/layout';
import { relL2Error } from './reference';

interface Figures {
  evalLogits: number;
  trainLogits: number;
  loss: number;
  gradients: number;
}

const root = path.join(__dirname, '..', '..');
const dirs = [path.join(root, 'test', 'fixtures'), path.join(root, '..', 'shared', 'fixtures'), process.env['SENET_PARITY_DIR']];
const fixtures = new Map<string, string>();
/** PyTorch's figures per device and fixture. */
const yardstick: Record<Device, Record<string, Figures>> = { cpu: {}, cuda: {} };
for (const dir of dirs) {
  if (!dir || !fs.existsSync(dir)) continue;
  for (const f of fs.readdirSync(dir).sort()) if (/^parity-.*\.safetensors$/.test(f) && !fixtures.has(f)) fixtures.set(f, path.join(dir, f));
  for (const [device, name] of [['cpu', 'bf16-yardstick.json'], ['cuda', 'bf16-yardstick-cuda.json']] as const) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) yardstick[device] = { ...(JSON.parse(fs.readFileSync(file, 'utf8')) as { fixtures: Record<string, Figures> }).fixtures, ...yardstick[device] };
  }
}
const report = backends();
/** Where bf16 runs here, with the reason where it does not. */
const devices: { device: Device; ok: boolean; reason: string }[] = [
  { device: 'cpu', ok: report.cpu.bf16.supported, reason: report.cpu.bf16.reason },
  { device: 'cuda', ok: report.cuda.available, reason: report.cuda.reason },
];
const LIMIT = 1.5;

function stateFrom(file: SafetensorsFile): Map<string, StateTensor> {
  const m = new Map<string, StateTensor>();
  for (const [name, t] of file.tensors) {
    if (name.startsWith('state.')) m.set(name.slice(6), { shape: t.shape, data: t.dtype === 'I64' ? toBigInt64(t, name) : toFloat32(t, name) });
  }
  return m;
}

/** senet's four figures on one fixture, on `device` in bf16. */
function measure(file: string, device: Device): Figures {
  const f = readSafetensors(file);
  const config = JSON.parse(f.metadata['config']!) as SEResNeXtConfig;
  const get = (key: string) => {
    const e = f.tensors.get(key);
    if (!e) throw new Error(`${file}: no tensor ${key}`);
    return e;
  };
  const expect = (key: string) => toFloat32(get(key), key);
  const model = createModel(config, { device, precision: 'bf16' });
  model.loadStateDict(stateFrom(f));
  const input = get('input');
  const [n, c, h, w] = input.shape as [number, number, number, number];
  const x = tensor(nchwToNhwc(toFloat32(input), n, c, h, w), [n, h, w, c], { device });
  const labels = tensor(toBigInt64(get('labels')), [n], { device });
  try {
    model.eval();
    const evalLogits = relL2Error(model.logits(x).toArray() as Float32Array, expect('expect.logits.eval'));
    model.train();
    const logits = model.logits(x);
    const { loss, correct } = ops.crossEntropyForward(logits, labels);
    const trainLogits = relL2Error(logits.toArray() as Float32Array, expect('expect.logits.train'));
    const want = expect('expect.loss')[0]!;
    const lossErr = Math.abs((loss.toArray() as Float32Array)[0]! - want) / Math.abs(want);
    const dlogits = ops.crossEntropyBackward(logits, labels);
    model.backward(dlogits);
    let num = 0, den = 0;
    for (const [name, g] of model.gradients()) {
      const e = expect(`expect.grad.${name}`);
      const a = g.data as Float32Array;
      for (let i = 0; i < e.length; i++) {
        num += (a[i]! - e[i]!) ** 2;
        den += e[i]! ** 2;
      }
    }
    for (const t of [loss, correct, dlogits]) t.dispose();
    return { evalLogits, trainLogits, loss: lossErr, gradients: Math.sqrt(num / den) };
  } finally {
    x.dispose();
    labels.dispose();
    model.dispose();
  }
}

test('every committed parity fixture has a PyTorch bf16 yardstick for each device', (t) => {
  const committed = fs.readdirSync(path.join(root, 'test', 'fixtures')).filter((f) => /^parity-.*\.safetensors$/.test(f));
  t.true(committed.length >= 2);
  for (const f of committed) {
    t.truthy(yardstick.cpu[f], `${f} in bf16-yardstick.json`);
    t.truthy(yardstick.cuda[f], `${f} in bf16-yardstick-cuda.json`);
  }
});

for (const [name, file] of fixtures) {
  for (const { device, ok, reason } of devices) {
    const theirs = yardstick[device][name];
    const title = `bf16 parity within ${LIMIT}x of PyTorch's bf16 autocast: ${name}${device === 'cuda' ? ' on CUDA' : ''}`;
    if (!ok) {
      test.skip(`${title} [skipped: ${reason}]`, () => undefined);
      continue;
    }
    if (!theirs) {
      test.skip(`${title} [skipped: no PyTorch yardstick for it in a ${device === 'cuda' ? 'bf16-yardstick-cuda.json beside it; bench/pytorch/bf16_yardstick.py --device cuda' : 'bf16-yardstick.json beside it; check_bf16.py'} prints one]`, () => undefined);
      continue;
    }
    test(title, (t) => {
      const ours = measure(file, device);
      for (const key of ['evalLogits', 'trainLogits', 'loss', 'gradients'] as const) {
        const ratio = ours[key] / theirs[key];
        t.log(`${key}: senet ${ours[key].toExponential(2)}, PyTorch ${theirs[key].toExponential(2)} (x${ratio.toFixed(2)})`);
        t.true(ratio <= LIMIT, `${key}: senet's error ${ours[key].toExponential(2)} is ${ratio.toFixed(2)}x PyTorch's ${theirs[key].toExponential(2)}`);
      }
    });
  }
}
