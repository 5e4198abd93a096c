/**
 * SE-ResNeXt as an ONNX inference graph (a plain ModelProto object for onnx_schema's types):
 * the same layers senet runs, in NCHW, with the weights of a state dict as initializers.
 *
 * Stem: Conv → BatchNormalization → Relu (→ MaxPool 3×3/2 for the 'imagenet' stem). Each
 * bottleneck: Conv 1×1 → BN → Relu → Conv 3×3 (group = cardinality, the stage's stride) → BN →
 * Relu → Conv 1×1 → BN → SE (GlobalAveragePool → Conv 1×1 + bias → Relu → Conv 1×1 + bias →
 * Sigmoid → Mul) → Add (the input, or Conv 1×1 (stride) → BN) → Relu. Head: GlobalAveragePool →
 * Flatten → Gemm. Batch norm stays a node (no folding into the conv), so that the numbers are
 * senet's own. Node names are timm's module paths (`layer1.0.conv2`, `layer1.0.se.fc1`, `fc`);
 * each node's output carries its node's name, except the last one, `logits`; initializers carry
 * the state dict's keys (`layer1.0.conv2.weight`, `layer1.0.bn2.running_var`, …).
 */
import * as os from 'node:os';
import { SenetError } from '../errors';
import type { SEResNeXtConfig } from '../nn/config';
import type { StateDict } from '../nn/seresnext';
import { shapeString } from '../validate';
import { ATTRIBUTE, FLOAT } from './onnx_schema';

/** The ONNX operator set the graph is written for (domain "", the default one). */
export const ONNX_OPSET = 17;
/** The ONNX IR version of opset 17 (ONNX 1.12). */
export const ONNX_IR_VERSION = 8;
/** Batch-norm epsilon: senet's and PyTorch's. */
const BN_EPS = 1e-5;

/** One image dimension of the graph's input: a size, or the name of a dynamic one. */
export type Dim = number | string;

/** What the graph is built from. */
export interface OnnxGraphSpec {
  config: SEResNeXtConfig;
  /** Weights and buffers in PyTorch's layouts and timm's names (readStateDict()). */
  state: StateDict;
  height: Dim;
  width: Dim;
  /** Extra key/value pairs for the model's metadata_props. */
  metadata: ReadonlyArray<readonly [string, string]>;
  producerVersion?: string;
}

// The messages as plain objects; field names are onnx.proto's.
interface Attribute {
  name: string;
  type: number;
  i?: number;
  f?: number;
  ints?: number[];
}
interface Node {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute: Attribute[];
}
interface Initializer {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}
interface ValueInfo {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: Array<{ dim_value: number } | { dim_param: string }> } } };
}

/** A ModelProto as a plain object (input of protobufjs' encode). */
export interface ModelMessage {
  ir_version: number;
  opset_import: Array<{ domain: string; version: number }>;
  producer_name: string;
  producer_version?: string;
  doc_string: string;
  graph: { name: string; node: Node[]; initializer: Initializer[]; input: ValueInfo[]; output: ValueInfo[] };
  metadata_props: Array<{ key: string; value: string }>;
}

const ints = (name: string, values: number[]): Attribute => ({ name, type: ATTRIBUTE.INTS, ints: values });
const int = (name: string, value: number): Attribute => ({ name, type: ATTRIBUTE.INT, i: value });
const float = (name: string, value: number): Attribute => ({ name, type: ATTRIBUTE.FLOAT, f: value });

/** A float32 array's bytes in little-endian order (ONNX's raw_data), without a copy where the host is little-endian. */
function littleEndianBytes(data: Float32Array): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (os.endianness() === 'LE') return bytes;
  const swapped = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) {
    swapped[i] = bytes[i + 3]!;
    swapped[i + 1] = bytes[i + 2]!;
    swapped[i + 2] = bytes[i + 1]!;
    swapped[i + 3] = bytes[i]!;
  }
  return swapped;
}

function valueInfo(name: string, dims: Dim[]): ValueInfo {
  const dim = dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d }));
  return { name, type: { tensor_type: { elem_type: FLOAT, shape: { dim } } } };
}

/** Collects nodes and initializers in topological order. */
class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Initializer[] = [];

  constructor(private readonly state: StateDict) {}

  /** The state entry `key` as an initializer; returns its name. `rank` is checked. */
  weight(key: string, rank: number): string {
    const t = this.state.get(key);
    const where = 'onnx export';
    if (!t || !(t.data instanceof Float32Array)) throw new SenetError('SENET_INTERNAL', `${where}: ${key}: expected a float32 entry in the state dict, received ${t ? 'another type' : 'none'}`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.shape.length !== rank || t.data.length !== count) {
      throw new SenetError('SENET_INTERNAL', `${where}: ${key}: expected a rank-${rank} tensor, received shape ${shapeString(t.shape)} with ${t.data.length} values`);
    }
    this.initializers.push({ name: key, dims: [...t.shape], data_type: FLOAT, raw_data: littleEndianBytes(t.data) });
    return key;
  }

  /** The shape of a state entry (after weight() has checked it). */
  shape(key: string): number[] {
    return this.state.get(key)!.shape;
  }

  /** Adds a node whose one output is named as the node (or `output`); returns that output. */
  node(opType: string, name: string, input: string[], attribute: Attribute[] = [], output = name): string {
    this.nodes.push({ name, op_type: opType, input, output: [output], attribute });
    return output;
  }

  /** Conv (no bias) → BatchNormalization (→ Relu named `act`). */
  convBn(x: string, conv: string, bn: string, o: { stride: number; padding: number; groups: number; act?: string }): string {
    const w = this.weight(`${conv}.weight`, 4);
    const [, , kh, kw] = this.shape(w) as [number, number, number, number];
    const p = o.padding;
    let y = this.node('Conv', conv, [x, w], [ints('dilations', [1, 1]), int('group', o.groups), ints('kernel_shape', [kh, kw]), ints('pads', [p, p, p, p]), ints('strides', [o.stride, o.stride])]);
    const bnInputs = ['weight', 'bias', 'running_mean', 'running_var'].map((s) => this.weight(`${bn}.${s}`, 1));
    y = this.node('BatchNormalization', bn, [y, ...bnInputs], [float('epsilon', BN_EPS)]);
    return o.act ? this.node('Relu', o.act, [y]) : y;
  }

  /** timm's SEModule: x · sigmoid(fc2(relu(fc1(mean_hw(x))))). */
  squeezeExcite(x: string, p: string): string {
    let s = this.node('GlobalAveragePool', `${p}.mean`, [x]);
    for (const fc of ['fc1', 'fc2']) {
      const w = this.weight(`${p}.${fc}.weight`, 4);
      const b = this.weight(`${p}.${fc}.bias`, 1);
      s = this.node('Conv', `${p}.${fc}`, [s, w, b], [ints('kernel_shape', [1, 1])]);
      if (fc === 'fc1') s = this.node('Relu', `${p}.act`, [s]);
    }
    s = this.node('Sigmoid', `${p}.gate`, [s]);
    return this.node('Mul', `${p}.mul`, [x, s]);
  }
}

/** The whole model: graph, opset, input `input` (batch, C, H, W) and output `logits` (batch, classes). */
export function buildOnnxModel(spec: OnnxGraphSpec): ModelMessage {
  const { config, state } = spec;
  const g = new GraphBuilder(state);
  const imagenet = config.stem === 'imagenet';
  let x = g.convBn('input', 'conv1', 'bn1', { stride: imagenet ? 2 : 1, padding: imagenet ? 3 : 1, groups: 1, act: 'act1' });
  if (imagenet) x = g.node('MaxPool', 'maxpool', [x], [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1]), ints('strides', [2, 2])]);
  let channels = config.stemWidth;
  config.layers.forEach((count, stage) => {
    const out = config.channels[stage]! * 4;
    for (let i = 0; i < count; i++) {
      const p = `layer${stage + 1}.${i}`;
      const stride = stage > 0 && i === 0 ? 2 : 1;
      let y = g.convBn(x, `${p}.conv1`, `${p}.bn1`, { stride: 1, padding: 0, groups: 1, act: `${p}.act1` });
      y = g.convBn(y, `${p}.conv2`, `${p}.bn2`, { stride, padding: 1, groups: config.cardinality, act: `${p}.act2` });
      y = g.convBn(y, `${p}.conv3`, `${p}.bn3`, { stride: 1, padding: 0, groups: 1 });
      y = g.squeezeExcite(y, `${p}.se`);
      const shortcut = stride !== 1 || channels !== out ? g.convBn(x, `${p}.downsample.0`, `${p}.downsample.1`, { stride, padding: 0, groups: 1 }) : x;
      y = g.node('Add', `${p}.add`, [y, shortcut]);
      x = g.node('Relu', `${p}.act3`, [y]);
      channels = out;
    }
  });
  x = g.node('GlobalAveragePool', 'global_pool.pool', [x]);
  x = g.node('Flatten', 'global_pool.flatten', [x], [int('axis', 1)]);
  g.node('Gemm', 'fc', [x, g.weight('fc.weight', 2), g.weight('fc.bias', 1)], [float('alpha', 1), float('beta', 1), int('transB', 1)], 'logits');

  const metadata = new Map<string, string>([['senet.config', JSON.stringify(config)], ...spec.metadata]);
  return {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'senet',
    ...(spec.producerVersion !== undefined && { producer_version: spec.producerVersion }),
    doc_string: 'SE-ResNeXt (timm layout) exported by senet: input NCHW float32, normalised as in training; output logits.',
    graph: {
      name: 'seresnext',
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo('input', ['batch', config.inChannels, spec.height, spec.width])],
      output: [valueInfo('logits', ['batch', config.numClasses])],
    },
    metadata_props: [...metadata].map(([key, value]) => ({ key, value })),
  };
}
