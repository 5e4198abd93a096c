import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel, onnxBytes, exportOnnx, ONNX_OPSET, ONNX_IR_VERSION, type SEResNeXt, type SEResNeXtConfig, type StateDict, type StateTensor } from '../../lib';
import { readSafetensors, toBigInt64, toFloat32, type SafetensorsFile } from '../../lib/io';
import { onnxTypes } from '../../lib/export/onnx_schema';
import { maxRelError, randomArray } from '../reference';
import { ortTest, runSession, senetLogits } from './ort';

// The exported graph run by onnxruntime-node against senet's eval-mode logits (and PyTorch's, on
// the parity fixtures), within 1e-4 relative: max |a − b| / max |b|.
const TOL = 1e-4;
const root = path.join(__dirname, '..', '..', '..');
const dirs = [path.join(root, 'test', 'fixtures'), path.join(root, '..', 'shared', 'fixtures'), process.env['SENET_PARITY_DIR']];
const fixtures = new Map<string, string>();
for (const dir of dirs) {
  if (!dir || !fs.existsSync(dir)) continue;
  for (const f of fs.readdirSync(dir).sort()) if (/^parity-.*\.safetensors$/.test(f) && !fixtures.has(f)) fixtures.set(f, path.join(dir, f));
}

// Every kind of block: a downsampling first block, an identity block, a strided stage, 4 groups.
const SMALL: SEResNeXtConfig = { layers: [2, 1], channels: [8, 16], cardinality: 4, baseWidth: 32, stemWidth: 8, stem: 'imagenet', inChannels: 3, numClasses: 5 };

function stateFrom(file: SafetensorsFile, prefix: string): StateDict {
  const m = new Map<string, StateTensor>();
  for (const [name, t] of file.tensors) {
    if (name.startsWith(prefix)) m.set(name.slice(prefix.length), { shape: t.shape, data: t.dtype === 'I64' ? toBigInt64(t, name) : toFloat32(t, name) });
  }
  return m;
}

function randomImages(shape: readonly number[], seed: number): Float32Array {
  return Float32Array.from(randomArray(shape.reduce((a, b) => a * b, 1), seed));
}

/** Batch-norm affine and running statistics drawn at random, so that no branch of the network is a no-op. */
async function randomizeBatchNorm(model: SEResNeXt, seed: number): Promise<void> {
  const state = await model.readStateDict();
  let s = seed;
  for (const key of state.keys()) {
    if (!key.endsWith('.running_var')) continue;
    const bn = key.slice(0, -'.running_var'.length);
    const last = /\.bn3$/.test(bn); // keep each residual branch modest, as in a trained network
    const fill = (name: string, lo: number, hi: number) => {
      const t = state.get(`${bn}.${name}`)!;
      const r = randomArray(t.data.length, s++);
      t.data = Float32Array.from(r, (v) => lo + ((v + 1) / 2) * (hi - lo));
    };
    fill('weight', last ? 0.1 : 0.5, last ? 0.4 : 1.5);
    fill('bias', -0.2, 0.2);
    fill('running_mean', -0.2, 0.2);
    fill('running_var', 0.5, 2);
  }
  model.loadStateDict(state);
}

function opTypes(nodes: Array<{ op_type: string }>): string[] {
  return [...new Set(nodes.map((n) => n.op_type))].sort();
}

for (const [name, file] of fixtures) {
  ortTest(`onnxruntime runs the export of ${name} as senet and PyTorch do`, async (t, ort) => {
    const f = readSafetensors(file);
    const config = JSON.parse(f.metadata['config']!) as SEResNeXtConfig;
    const model = createModel(config, { device: 'cpu' });
    try {
      model.loadStateDict(stateFrom(f, 'state.'));
      const input = f.tensors.get('input')!;
      const shape = input.shape as [number, number, number, number];
      const x = toFloat32(input);
      const session = await ort.InferenceSession.create(await onnxBytes(model, { inputSize: [shape[2], shape[3]] }));
      const out = await runSession(ort, session, x, shape);
      await session.release();
      t.deepEqual(out.dims, [shape[0], config.numClasses]);
      const ours = await senetLogits(model, x, shape);
      const torch = toFloat32(f.tensors.get('expect.logits.eval')!);
      const vsSenet = maxRelError(out.data, ours);
      const vsTorch = maxRelError(out.data, torch);
      t.log(`max relative error: onnxruntime vs senet ${vsSenet.toExponential(2)}, vs PyTorch float64 ${vsTorch.toExponential(2)}`);
      t.true(vsSenet <= TOL, `onnxruntime vs senet: ${vsSenet}`);
      t.true(vsTorch <= TOL, `onnxruntime vs PyTorch: ${vsTorch}`);
    } finally {
      model.dispose();
    }
  });
}

ortTest('seresnext50_32x4d: the exported file runs in onnxruntime as in senet, at two batch sizes', async (t, ort) => {
  const model = createModel('seresnext50_32x4d', { device: 'cpu', numClasses: 10, seed: 1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'senet-onnx-'));
  try {
    await randomizeBatchNorm(model, 7);
    const file = path.join(dir, 'seresnext50_32x4d.onnx');
    await model.exportOnnx(file, { inputSize: 64 });
    const bytes = fs.statSync(file).size;
    t.true(bytes > model.parameterCount * 4, `${bytes} bytes for ${model.parameterCount} parameters`);
    t.deepEqual(fs.readdirSync(dir), ['seresnext50_32x4d.onnx'], 'no temporary file left');
    const session = await ort.InferenceSession.create(file);
    try {
      for (const [batch, seed] of [[2, 11], [3, 12]] as const) {
        const shape = [batch, 3, 64, 64];
        const x = randomImages(shape, seed);
        const out = await runSession(ort, session, x, shape);
        t.deepEqual(out.dims, [batch, 10]);
        const ours = await senetLogits(model, x, shape);
        const err = maxRelError(out.data, ours);
        const scale = Math.max(...ours.map(Math.abs));
        t.log(`batch ${batch}: max relative error ${err.toExponential(2)} (max |logit| ${scale.toFixed(3)})`);
        t.true(err <= TOL, `batch ${batch}: ${err}`);
        t.true(scale > 1e-3 && ours.some((v) => v !== ours[0]), 'logits that are not degenerate');
      }
    } finally {
      await session.release();
    }
  } finally {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the file: opset, IR version, input and output, operators, attributes and initializers', async (t) => {
  const model = createModel(SMALL, { device: 'cpu', zeroInitLast: false });
  try {
    const bytes = await onnxBytes(model, { inputSize: [40, 48], metadata: { classes: '["a","b","c","d","e"]' } });
    const { ModelProto } = await onnxTypes();
    type Dim = { dim_value?: number; dim_param?: string };
    type Value = { name: string; type: { tensor_type: { elem_type: number; shape: { dim: Dim[] } } } };
    const m = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, bytes: Buffer, defaults: false }) as {
      ir_version: number;
      opset_import: Array<{ domain?: string; version: number }>;
      producer_name: string;
      metadata_props: Array<{ key: string; value: string }>;
      graph: {
        node: Array<{ name: string; op_type: string; input: string[]; output: string[]; attribute?: Array<{ name: string; i?: number; f?: number; ints?: number[] }> }>;
        initializer: Array<{ name: string; dims: number[]; data_type: number; raw_data: Buffer }>;
        input: Value[];
        output: Value[];
      };
    };
    t.is(m.ir_version, ONNX_IR_VERSION);
    t.is(ONNX_IR_VERSION, 8);
    t.deepEqual(m.opset_import, [{ domain: '', version: ONNX_OPSET }]);
    t.is(ONNX_OPSET, 17);
    t.is(m.producer_name, 'senet');
    const g = m.graph;
    const dims = (v: Value) => v.type.tensor_type.shape.dim.map((d) => d.dim_param ?? d.dim_value);
    t.deepEqual(g.input.map((v) => [v.name, v.type.tensor_type.elem_type, dims(v)]), [['input', 1, ['batch', 3, 40, 48]]]);
    t.deepEqual(g.output.map((v) => [v.name, v.type.tensor_type.elem_type, dims(v)]), [['logits', 1, ['batch', 5]]]);
    t.deepEqual(opTypes(g.node), ['Add', 'BatchNormalization', 'Conv', 'Flatten', 'Gemm', 'GlobalAveragePool', 'MaxPool', 'Mul', 'Relu', 'Sigmoid']);
    t.is(new Set(g.node.map((n) => n.name)).size, g.node.length, 'node names are unique');
    const node = (name: string) => g.node.find((n) => n.name === name)!;
    const attr = (name: string, a: string) => node(name).attribute?.find((x) => x.name === a);
    for (const conv of g.node.filter((n) => n.op_type === 'Conv')) t.truthy(conv.attribute?.some((a) => a.name === 'group') || /\.se\.fc[12]$/.test(conv.name), conv.name);
    t.is(attr('layer1.0.conv2', 'group')?.i, 4);
    t.deepEqual(attr('layer2.0.conv2', 'strides')?.ints, [2, 2]);
    t.deepEqual(attr('conv1', 'kernel_shape')?.ints, [7, 7]);
    t.deepEqual(attr('maxpool', 'pads')?.ints, [1, 1, 1, 1]);
    t.is(attr('fc', 'transB')?.i, 1);
    t.is(attr('layer1.0.bn2', 'epsilon')?.f, Math.fround(1e-5));
    // The SE block and the residual, in timm's names.
    t.deepEqual(node('layer1.1.se.mean').input, ['layer1.1.bn3']);
    t.deepEqual(node('layer1.1.se.fc1').input, ['layer1.1.se.mean', 'layer1.1.se.fc1.weight', 'layer1.1.se.fc1.bias']);
    t.deepEqual(node('layer1.1.se.mul').input, ['layer1.1.bn3', 'layer1.1.se.gate']);
    t.deepEqual(node('layer1.1.add').input, ['layer1.1.se.mul', 'layer1.0.act3'], 'an identity shortcut');
    t.deepEqual(node('layer2.0.add').input, ['layer2.0.se.mul', 'layer2.0.downsample.1']);
    t.deepEqual(node('fc').output, ['logits']);
    // Initializers: every float entry of the state dict, with its key, shape and exact values.
    const state = await model.readStateDict();
    const floats = [...state].filter(([, v]) => v.data instanceof Float32Array);
    t.deepEqual(g.initializer.map((i) => i.name).sort(), floats.map(([k]) => k).sort());
    for (const [key, v] of floats) {
      const init = g.initializer.find((i) => i.name === key)!;
      t.deepEqual(init.dims, v.shape, key);
      t.is(init.data_type, 1, key);
      const data = v.data as Float32Array;
      const raw = init.raw_data;
      const values = Float32Array.from({ length: raw.length / 4 }, (_, i) => raw.readFloatLE(i * 4));
      t.deepEqual(values, data, key);
    }
    const meta = new Map(m.metadata_props.map((p) => [p.key, p.value]));
    t.deepEqual(JSON.parse(meta.get('senet.config')!), SMALL);
    t.is(meta.get('classes'), '["a","b","c","d","e"]');
  } finally {
    model.dispose();
  }
});

test('the cifar stem has no max-pool, and the default input size follows the stem', async (t) => {
  const { ModelProto } = await onnxTypes();
  for (const [stem, side, pool] of [['cifar', 32, false], ['imagenet', 224, true]] as const) {
    const model = createModel({ ...SMALL, stem }, { device: 'cpu' });
    const m = ModelProto.toObject(ModelProto.decode(await onnxBytes(model)), { longs: Number }) as {
      graph: { node: Array<{ op_type: string }>; input: Array<{ type: { tensor_type: { shape: { dim: Array<{ dim_value?: number }> } } } }> };
    };
    t.is(m.graph.node.some((n) => n.op_type === 'MaxPool'), pool, stem);
    t.deepEqual(m.graph.input[0]!.type.tensor_type.shape.dim.slice(2).map((d) => d.dim_value), [side, side], stem);
    model.dispose();
  }
});

ortTest("inputSize 'dynamic': one file runs at any image size, and onnxruntime reads the declared shapes", async (t, ort) => {
  const model = createModel(SMALL, { device: 'cpu', zeroInitLast: false, seed: 2 });
  try {
    await randomizeBatchNorm(model, 3);
    const session = await ort.InferenceSession.create(await onnxBytes(model, { inputSize: 'dynamic' }));
    const shapeOf = (m: (typeof session.inputMetadata)[number]) => (m.isTensor ? m.shape : null);
    t.deepEqual(session.inputNames, ['input']);
    t.deepEqual(session.outputNames, ['logits']);
    t.deepEqual(shapeOf(session.inputMetadata[0]!), ['batch', 3, 'height', 'width']);
    t.deepEqual(shapeOf(session.outputMetadata[0]!), ['batch', 5]);
    for (const [shape, seed] of [[[1, 3, 17, 23], 1], [[4, 3, 32, 32], 2]] as const) {
      const x = randomImages(shape, seed);
      const out = await runSession(ort, session, x, shape);
      const err = maxRelError(out.data, await senetLogits(model, x, shape));
      t.true(err <= TOL, `${shape.join('×')}: ${err}`);
    }
    await session.release();
  } finally {
    model.dispose();
  }
});

test('bad arguments and unwritable paths are refused with SENET_ARGUMENT and SENET_IO', async (t) => {
  const model = createModel(SMALL, { device: 'cpu' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'senet-onnx-'));
  try {
    const refused = async (p: Promise<unknown>, code: string, message: RegExp) => {
      const err = await t.throwsAsync(p);
      t.is((err as { code?: string }).code, code);
      t.regex(err!.message, message);
    };
    await refused(onnxBytes(model, { inputSize: 0 }), 'SENET_ARGUMENT', /^onnxBytes: options\.inputSize: expected an integer in \[1, 65536\], received number 0$/);
    await refused(onnxBytes(model, { inputSize: [32] as unknown as [number, number] }), 'SENET_ARGUMENT', /options\.inputSize: expected a side, \[height, width\] or 'dynamic', received an array of length 1/);
    await refused(onnxBytes(model, { metadata: { a: 1 as unknown as string } }), 'SENET_ARGUMENT', /options\.metadata\.a: expected a string, received number 1/);
    await refused(onnxBytes({} as SEResNeXt), 'SENET_ARGUMENT', /^onnxBytes: model: expected an SEResNeXt/);
    await refused(exportOnnx(model, ''), 'SENET_ARGUMENT', /^exportOnnx: path: expected a non-empty string/);
    await refused(model.exportOnnx(path.join(dir, 'missing', 'm.onnx')), 'SENET_IO', /^exportOnnx: .*cannot write .*missing.*ENOENT/);
    t.deepEqual(fs.readdirSync(dir), []);
  } finally {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
