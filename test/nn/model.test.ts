import test from 'ava';
import { createModel, PRESETS, randn, seHiddenWidth, bottleneckWidth, tensor, zeros, type StateDict } from '../../lib';
import { nchwToNhwc } from '../../lib/nn/layout';
import { codeOf } from '../helpers';
import { TINY } from '../train/tiny';

test('SE-ResNeXt-50 32x4d has exactly timm\'s 27,559,896 parameters at 1000 classes', (t) => {
  const m = createModel('seresnext50_32x4d', { device: 'cpu' });
  t.is(m.parameterCount, 27_559_896);
  const keys = [...m.stateShapes().keys()];
  for (const k of ['conv1.weight', 'layer1.0.conv2.weight', 'layer1.0.se.fc1.bias', 'layer2.0.downsample.1.running_var', 'layer4.2.bn3.num_batches_tracked', 'fc.weight']) t.true(keys.includes(k), k);
  t.deepEqual(m.stateShapes().get('layer1.0.conv2.weight'), [128, 4, 3, 3]); // 32 groups of 4
  t.deepEqual(m.stateShapes().get('layer1.0.se.fc1.weight'), [16, 256, 1, 1]);
  t.deepEqual(m.stateShapes().get('layer4.0.se.fc2.weight'), [2048, 128, 1, 1]);
  m.dispose();
});

test('presets and widths follow the paper and timm', (t) => {
  t.deepEqual(PRESETS.seresnext26_32x4d.layers, [2, 2, 2, 2]);
  t.deepEqual(PRESETS.seresnext101_32x4d.layers, [3, 4, 23, 3]);
  t.is(PRESETS.seresnet50.cardinality, 1);
  t.is(bottleneckWidth(64, 4, 32), 128);
  t.is(bottleneckWidth(512, 4, 32), 1024);
  t.is(bottleneckWidth(64, 64, 1), 64);
  t.is(seHiddenWidth(256), 16);
  t.is(seHiddenWidth(2048), 128);
  t.is(seHiddenWidth(32), 8); // at least 8
  const r26 = createModel('seresnext26_32x4d', { numClasses: 10, inChannels: 1, device: 'cpu' });
  t.is(r26.config.numClasses, 10);
  t.is(r26.config.inChannels, 1);
  r26.dispose();
});

test('weights initialise as timm does: Kaiming normal (fan out) convs, BN 1/0, last BN of each block 0', (t) => {
  const m = createModel('seresnext26_32x4d', { device: 'cpu', seed: 3 });
  const sd = m.stateDict();
  const w = sd.get('layer3.0.conv1.weight')!.data as Float32Array; // 1x1, 512 -> 512 ... fan out = Cout
  const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  const cout = sd.get('layer3.0.conv1.weight')!.shape[0]!;
  t.true(Math.abs(std - Math.sqrt(2 / cout)) / Math.sqrt(2 / cout) < 0.05, `std ${std}`);
  t.true((sd.get('layer1.0.bn1.weight')!.data as Float32Array).every((v) => v === 1));
  t.true((sd.get('layer1.0.bn3.weight')!.data as Float32Array).every((v) => v === 0));
  t.true((sd.get('layer1.0.bn1.running_var')!.data as Float32Array).every((v) => v === 1));
  const again = createModel('seresnext26_32x4d', { device: 'cpu', seed: 3 }).stateDict();
  t.deepEqual(again.get('fc.weight'), sd.get('fc.weight'), 'same seed, same weights');
  const off = createModel('seresnext26_32x4d', { device: 'cpu', seed: 3, zeroInitLast: false }).stateDict();
  t.true((off.get('layer1.0.bn3.weight')!.data as Float32Array).every((v) => v === 1));
  m.dispose();
});

test('stateDict round-trips into a fresh model, which then computes the same logits', (t) => {
  const a = createModel(TINY, { device: 'cpu', seed: 1 });
  const b = createModel(TINY, { device: 'cpu', seed: 2 });
  const x = randn([3, 8, 8, 1], { seed: 5 });
  a.train();
  a.logits(x); // moves running statistics and counters
  b.loadStateDict(a.stateDict());
  a.eval();
  b.eval();
  t.deepEqual(b.logits(x).toArray(), a.logits(x).toArray());
  t.deepEqual(b.stateDict().get('bn1.num_batches_tracked'), a.stateDict().get('bn1.num_batches_tracked'));
  a.dispose();
  b.dispose();
});

test('strict loading lists every missing key, unexpected key and shape mismatch in one error, and changes nothing', (t) => {
  const m = createModel(TINY, { device: 'cpu', seed: 1 });
  const before = m.stateDict();
  const bad: StateDict = new Map(before);
  bad.delete('fc.bias');
  bad.delete('layer1.0.bn1.running_mean');
  bad.set('extra.weight', { shape: [1], data: new Float32Array(1) });
  bad.set('conv1.weight', { shape: [8, 1, 3, 2], data: new Float32Array(48) });
  bad.set('fc.weight', { ...before.get('fc.weight')!, data: new Float32Array(before.get('fc.weight')!.data.length).fill(7) });
  let err: { code?: string; message: string } | undefined;
  try {
    m.loadStateDict(bad);
  } catch (e) {
    err = e as typeof err;
  }
  t.is(err?.code, 'SENET_STATE_DICT');
  t.regex(err!.message, /conv1\.weight: expected shape \[8, 1, 3, 3\], received \[8, 1, 3, 2\]/);
  t.regex(err!.message, /missing keys: .*layer1\.0\.bn1\.running_mean.*fc\.bias/);
  t.regex(err!.message, /unexpected keys: extra\.weight/);
  t.deepEqual(m.stateDict().get('fc.weight'), before.get('fc.weight'), 'nothing was loaded');
  // Not strict: missing and unexpected keys are allowed, the rest loads; a shape mismatch is still refused.
  const partial: StateDict = new Map([['fc.weight', bad.get('fc.weight')!], ['extra', { shape: [], data: new Float32Array(1) }]]);
  m.loadStateDict(partial, { strict: false });
  t.true((m.stateDict().get('fc.weight')!.data as Float32Array).every((v) => v === 7));
  t.is(codeOf(() => m.loadStateDict(new Map([['conv1.weight', { shape: [1], data: new Float32Array(1) }]]), { strict: false })), 'SENET_STATE_DICT');
  m.dispose();
});

test('forward takes NCHW or NHWC input and returns logits of its own', (t) => {
  const m = createModel(TINY, { device: 'cpu', seed: 1 }).eval();
  const nchw = new Float32Array(2 * 1 * 8 * 8).map((_, i) => Math.sin(i));
  const a = m.forward(tensor(nchw, [2, 1, 8, 8]), { layout: 'nchw' });
  const b = m.forward(tensor(nchwToNhwc(nchw, 2, 1, 8, 8), [2, 8, 8, 1]));
  t.deepEqual(a.toArray(), b.toArray());
  t.deepEqual(a.shape, [2, 2]);
  m.forward(randn([2, 8, 8, 1], { seed: 9 })); // a later call does not overwrite the first result
  t.deepEqual(a.toArray(), b.toArray());
  t.is(codeOf(() => m.forward(randn([2, 8, 8, 3]))), 'SENET_SHAPE');
  t.is(codeOf(() => m.forward(randn([2, 8, 8, 1]), { layout: 'chw' as 'nhwc' })), 'SENET_ARGUMENT');
  m.dispose();
});

test('eval mode uses running statistics; backward needs a training-mode forward', (t) => {
  const m = createModel(TINY, { device: 'cpu', seed: 1 });
  const x = randn([4, 8, 8, 1], { seed: 2 });
  const train = m.train().logits(x).toArray();
  const evalOut = m.eval().logits(x).toArray();
  t.notDeepEqual(train, evalOut);
  t.is(codeOf(() => m.backward(randn([4, 2]))), 'SENET_ARGUMENT');
  m.dispose();
});

test('bad model configurations are refused with the field named', (t) => {
  t.is(codeOf(() => createModel('resnet9000' as 'seresnet50')), 'SENET_ARGUMENT');
  t.is(codeOf(() => createModel({ ...TINY, layers: [1, 1], channels: [8] })), 'SENET_ARGUMENT');
  t.is(codeOf(() => createModel({ ...TINY, cardinality: 0 })), 'SENET_ARGUMENT');
  t.is(codeOf(() => createModel({ ...TINY, stem: 'tiny' as 'cifar' })), 'SENET_ARGUMENT');
  t.is(codeOf(() => createModel(TINY, { device: 'tpu' as 'cpu' })), 'SENET_ARGUMENT');
  // Limits, checked before anything is allocated: each names its field, at once.
  const started = Date.now();
  for (const [bad, field] of [
    [{ layers: [1e6], channels: [16] }, /config\.layers\[0\]: expected an integer in \[1, 256\]/],
    [{ layers: Array(9).fill(1), channels: Array(9).fill(8) }, /config\.layers: expected at most 8 stages/],
    [{ channels: [8, 1e5] }, /config\.channels\[1\]/],
    [{ cardinality: 4096 }, /config\.cardinality/],
    [{ numClasses: 1e7 }, /config\.numClasses/],
    [{ layers: [100, 100, 100, 100], channels: [8192, 8192, 8192, 8192] }, /at most 2,000,000,000 parameters, received a network of/],
  ] as const) {
    const e = t.throws(() => createModel({ ...TINY, ...bad } as typeof TINY), { code: 'SENET_ARGUMENT' });
    t.regex(e!.message, field);
  }
  t.true(Date.now() - started < 2000, 'refused before allocating');
});

test('sizes whose product overflows are refused, never wrapped', (t) => {
  const z = zeros([16]);
  t.is(codeOf(() => z.view(0, [1, 2 ** 31, 2 ** 31, 4])), 'SENET_SHAPE');
  t.is(codeOf(() => z.view(0, [2 ** 12, 2 ** 52])), 'SENET_SHAPE');
  t.is(codeOf(() => z.view(2 ** 52, [1])), 'SENET_SHAPE');
  t.is(codeOf(() => z.view(2 ** 53, [1])), 'SENET_ARGUMENT');
  t.is(codeOf(() => zeros([2 ** 40, 2 ** 40])), 'SENET_SHAPE');
  t.deepEqual(z.view(4, [2, 6]).shape, [2, 6]);
  z.dispose();
});
