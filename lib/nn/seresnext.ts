/**
 * SE-ResNeXt (timm's seresnext*_32x4d layout and parameter names), with explicit forward and
 * backward over senet's ops. Parameters live in one arena and their gradients in a second;
 * batch-norm running statistics in a third; activations in per-layer buffers reused every step.
 */
import type { ParameterArena } from '../arena';
import { SenetError } from '../errors';
import { fans } from '../init';
import * as ops from '../ops';
import { copy, empty, fill, fillNormal, fillUniform, type Device, type Tensor } from '../tensor';
import { checkOneOf, checkOptions, describe, fail, shapeString } from '../validate';
import { Bottleneck } from './bottleneck';
import { Builder, type Param } from './builder';
import type { SEResNeXtConfig } from './config';
import { ConvBn } from './conv_bn';
import { ohwiToOihw, oihwToOhwi } from './layout';
import type { ImageInput } from '../images/decode';
import { readWeights, writeWeights } from '../io/weights';
import { predictImages, type Prediction, type PredictOptions } from '../predict/predict';
import { checkPreprocessing, type Preprocessing } from '../predict/preprocessing';
import { Slot } from '../slot';
import type { GradientPool } from './gradient_pool';
import type { Precision } from '../precision';
import type { OnnxExportOptions } from '../export/onnx';

/** One entry of a state dict, in PyTorch's layout. */
export interface StateTensor {
  shape: number[];
  data: Float32Array | BigInt64Array;
}

/** Name → tensor, in the order PyTorch's state_dict() gives. */
export type StateDict = Map<string, StateTensor>;

/** Options of loadStateDict. */
export interface LoadOptions {
  /** Refuse missing and unexpected keys (shape mismatches are refused either way); default true. */
  strict?: boolean;
}

/** Memory layout of an input batch given to forward(). */
export type InputLayout = 'nhwc' | 'nchw';

const MAXPOOL: ops.MaxPoolOptions = { kernel: 3, stride: 2, padding: 1 };

type Entry =
  | { kind: 'conv'; layer: ConvBn }
  | { kind: 'se'; w1: Param; b1: Param; w2: Param; b2: Param }
  | { kind: 'fc'; w: Param; b: Param };

/**
 * The batch-norm running statistics (and num_batches_tracked) as they were at one point of the
 * queue: what a training loop puts back when a step is not taken.
 */
export interface StatisticsSnapshot {
  /** A device copy of every running mean and variance. */
  readonly values: Tensor;
  /** num_batches_tracked of each batch norm, in state-dict order. */
  counts: number[];
}

/** The network. Build one with createModel(). */
export class SEResNeXt {
  /** The configuration it was built from. */
  readonly config: SEResNeXtConfig;
  readonly device: Device;
  /**
   * The arithmetic's precision, fixed at creation (see Precision): in 'bf16' the activations are
   * bfloat16 and `params.copies` holds the bfloat16 weights the convolutions read.
   */
  readonly precision: Precision;
  /** Parameter values and gradients. */
  readonly params: ParameterArena;
  /** Batch-norm running statistics (use snapshotStatistics / restoreStatistics to save and put them back). */
  readonly buffers: ParameterArena;
  private readonly stem: ConvBn;
  private readonly blocks: Bottleneck[];
  private readonly fcW: Param;
  private readonly fcB: Param;
  private readonly paramList: readonly Param[];
  private mode: 'train' | 'eval' = 'train';
  private prep: Preprocessing | null = null;
  // Model-level activation and gradient buffers.
  private readonly pooledStem: Slot;
  private readonly featureBuffer: Slot;
  private readonly logitBuffer: Slot;
  private readonly dFeatures: Slot;
  private readonly gradientPool: GradientPool;
  private readonly castInput: Slot;
  private readonly act: 'float32' | 'bfloat16';
  private readonly release: boolean;
  private input: Tensor | undefined;
  private stemOut: Tensor | undefined;
  private features: Tensor | undefined;
  private lastMap: Tensor | undefined;

  /**
   * Build one with createModel(). `releaseActivations` frees each layer's activations as soon as
   * its backward pass is queued, and the gradient buffers after each pass, so that memory peaks as
   * PyTorch's does (activations plus the gradients alive at one time) instead of holding both sets
   * for the next step. Off unless $SENET_RELEASE_ACTIVATIONS=1: on the CPU fresh buffers cost page
   * faults every step; on CUDA the stream-ordered pool should hand the memory out again cheaply,
   * but allocations are made on the JavaScript thread and frees on the executor's, so whether it
   * lowers the peak without slowing a step has to be measured on a GPU first.
   */
  constructor(config: SEResNeXtConfig, options: { device: Device; seed: number; zeroInitLast: boolean; precision?: Precision; releaseActivations?: boolean }) {
    this.config = config;
    this.device = options.device;
    this.precision = options.precision ?? 'fp32';
    this.release = options.releaseActivations ?? process.env['SENET_RELEASE_ACTIVATIONS'] === '1';
    const b = new Builder(options.device, this.precision, this.release);
    this.act = b.activation;
    this.gradientPool = b.gradients;
    const imagenet = config.stem === 'imagenet';
    this.stem = new ConvBn(b, {
      conv: 'conv1',
      bn: 'bn1',
      inChannels: config.inChannels,
      outChannels: config.stemWidth,
      kernel: imagenet ? 7 : 3,
      stride: imagenet ? 2 : 1,
      padding: imagenet ? 3 : 1,
      groups: 1,
      relu: true,
    });
    this.blocks = [];
    let inChannels = config.stemWidth;
    config.layers.forEach((count, stage) => {
      const planes = config.channels[stage]!;
      for (let i = 0; i < count; i++) {
        this.blocks.push(
          new Bottleneck(b, {
            prefix: `layer${stage + 1}.${i}`,
            inChannels,
            planes,
            stride: stage > 0 && i === 0 ? 2 : 1,
            cardinality: config.cardinality,
            baseWidth: config.baseWidth,
            zeroInitLast: options.zeroInitLast,
          }),
        );
        inChannels = planes * 4;
      }
    });
    const bound = 1 / Math.sqrt(inChannels); // PyTorch's Linear default, for weight and bias
    this.fcW = b.param('fc.weight', [config.numClasses, inChannels], { kind: 'uniform', bound });
    this.fcB = b.param('fc.bias', [config.numClasses], { kind: 'uniform', bound });
    this.paramList = b.params;
    const placed = b.place();
    this.params = placed.params;
    this.buffers = placed.buffers;
    this.pooledStem = new Slot(options.device);
    this.featureBuffer = new Slot(options.device);
    this.logitBuffer = new Slot(options.device);
    this.dFeatures = new Slot(options.device);
    this.castInput = new Slot(options.device);
    try {
      this.initialize(options.seed, b);
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  private initialize(seed: number, b: Builder): void {
    b.params.forEach((p, i) => {
      // One counter-based stream per parameter: the same weights on every backend for a seed.
      const s = seed * 65536 + i;
      if (p.init.kind === 'kaimingNormal') fillNormal(p.value, 0, Math.SQRT2 / Math.sqrt(fans(p.shape).fanOut), { seed: s });
      else if (p.init.kind === 'uniform') fillUniform(p.value, -p.init.bound, p.init.bound, { seed: s });
      else fill(p.value, p.init.value);
    });
    for (const buf of b.buffers) fill(buf.value, buf.initValue);
    this.params.syncCopies();
  }

  /**
   * How images become this model's input (size, channels, mean and std, class names): set by
   * loadModel() from a checkpoint or weights file, or by hand; predict() needs it.
   */
  get preprocessing(): Preprocessing | null {
    return this.prep === null ? null : structuredClone(this.prep);
  }

  set preprocessing(p: Preprocessing | null) {
    this.prep = p === null ? null : checkPreprocessing('SEResNeXt.preprocessing', p, this.config.numClasses, this.config.inChannels);
  }

  /**
   * The top-k classes of images (file paths, image file bytes, or raw pixels), decoded and
   * preprocessed as the model was trained (`preprocessing`), in inference mode. One image gives
   * one list, an array a list per image.
   */
  async predict(image: ImageInput, options?: PredictOptions): Promise<Prediction[]>;
  async predict(images: readonly ImageInput[], options?: PredictOptions): Promise<Prediction[][]>;
  async predict(images: ImageInput | readonly ImageInput[], options?: PredictOptions): Promise<Prediction[] | Prediction[][]> {
    if (!this.prep) {
      throw new SenetError('SENET_ARGUMENT', 'SEResNeXt.predict: the model has no preprocessing (input size, mean, std, classes): load it with loadModel(checkpoint) or set model.preprocessing');
    }
    const one = !Array.isArray(images);
    const all = await predictImages(this, one ? [images as ImageInput] : (images as readonly ImageInput[]), this.prep, options);
    return one ? all[0]! : all;
  }

  /**
   * Loads a safetensors state dict in timm's names (a timm checkpoint, or what `senet export`
   * writes) without blocking, with loadStateDict's checks (strict by default). A senet weights
   * file also brings its preprocessing.
   */
  async loadWeights(path: string, options?: LoadOptions): Promise<void> {
    const w = await readWeights(path);
    this.loadStateDict(w.state, options);
    if (w.preprocessing !== null) this.preprocessing = w.preprocessing as Preprocessing;
  }

  /**
   * Writes the weights alone, in timm's names and layouts (which timm's load_state_dict accepts),
   * with the config and preprocessing in the file's metadata. Atomic, without blocking.
   */
  async saveWeights(path: string): Promise<void> {
    await writeWeights(path, await this.readStateDict(), { config: this.config, preprocessing: this.prep ?? undefined });
  }

  /** Training mode: batch norm uses batch statistics and updates its running ones. */
  train(): this {
    this.mode = 'train';
    return this;
  }

  /** Inference mode: batch norm uses its running statistics. */
  eval(): this {
    this.mode = 'eval';
    return this;
  }

  /** True in training mode. */
  get training(): boolean {
    return this.mode === 'train';
  }

  /**
   * Queues a copy of the batch-norm running statistics (into `into`, reused, or a new snapshot
   * that is yours to dispose with disposeSnapshot) and notes each num_batches_tracked.
   */
  snapshotStatistics(into?: StatisticsSnapshot): StatisticsSnapshot {
    const stats = this.buffers.values;
    const values = into && !into.values.disposed ? into.values : empty(stats.shape, { device: stats.device });
    copy(stats, values);
    const counts = this.layers().map((l) => l.batchesTracked);
    if (into && into.values === values) {
      into.counts = counts;
      return into;
    }
    return { values, counts };
  }

  /**
   * Puts the statistics of a snapshot back (queued: ops queued before still see the current ones).
   * With `onlyIf` (an int32 scalar on the device, e.g. a step's non-finite count) the values are
   * put back on the device only when it is not 0 when the copy runs, and the host's batch counts
   * are left alone: call uncountBatch() once the host knows the copy happened.
   */
  restoreStatistics(snapshot: StatisticsSnapshot, options: { onlyIf?: Tensor } = {}): void {
    copy(snapshot.values, this.buffers.values, options.onlyIf ? { onlyIf: options.onlyIf } : undefined);
    if (!options.onlyIf) this.layers().forEach((l, i) => (l.batchesTracked = snapshot.counts[i] ?? l.batchesTracked));
  }

  /** Takes one training batch off every batch norm's num_batches_tracked (a step undone on the device). */
  uncountBatch(): void {
    for (const l of this.layers()) if (l.batchesTracked > 0) l.batchesTracked -= 1;
  }

  /**
   * The number of NaN or infinite values among the batch-norm running statistics and `extra`
   * (e.g. the loss), into an int32 scalar on the model's device: a check that never waits.
   * `accumulate` adds it to what `out` holds (see ops.nonFiniteCount).
   */
  countNonFinite(extra: readonly Tensor[], out?: Tensor, options: { accumulate?: boolean } = {}): Tensor {
    return ops.nonFiniteCount([...extra, this.buffers.values], out, options);
  }

  /** Number of trainable parameters (27,559,896 for seresnext50_32x4d at 1000 classes). */
  get parameterCount(): number {
    return this.paramList.reduce((n, p) => n + p.shape.reduce((a, d) => a * d, 1), 0);
  }

  private layers(): ConvBn[] {
    return [this.stem, ...this.blocks.flatMap((blk) => blk.layers())];
  }

  /**
   * Logits (N, numClasses) of an (N, H, W, inChannels) batch already on this model's device. The
   * result is a buffer of the model's, overwritten by the next call (what a training loop wants);
   * use forward() for a tensor of your own.
   */
  logits(x: Tensor): Tensor<'float32'> {
    const where = 'SEResNeXt.logits';
    if (x.device !== this.device) fail('SENET_DEVICE', where, 'x', `a tensor on ${this.device}`, `one on ${x.device}`);
    if (x.shape.length !== 4 || x.shape[3] !== this.config.inChannels) {
      fail('SENET_SHAPE', where, 'x', `(N, H, W, ${this.config.inChannels}) channels-last`, shapeString(x.shape));
    }
    const training = this.training;
    this.input = x;
    // Mixed precision starts with the batch in bfloat16 (the stem convolution's input).
    const input = this.act === 'bfloat16' && x.dtype !== 'bfloat16' ? ops.cast(x, 'bfloat16', this.castInput.get(x.shape, 'bfloat16') as Tensor<'bfloat16'>) : x;
    let h = this.stem.forward(input, training);
    this.stemOut = h;
    if (this.config.stem === 'imagenet') h = ops.maxPoolForward(h, MAXPOOL, this.pooledStem.get(ops.maxPoolOutputShape(h, MAXPOOL), this.act));
    for (const blk of this.blocks) h = blk.forward(h, training);
    this.lastMap = h;
    const n = h.shape[0]!, c = h.shape[3]!;
    this.features = ops.globalAvgPoolForward(h, this.featureBuffer.get([n, c]));
    return ops.linearForward(this.features, this.fcW.value, this.fcB.value, this.logitBuffer.get([n, this.config.numClasses]), { tf32: this.precision === 'tf32' });
  }

  /** Gradients of every parameter (into `params.grads`) from d loss / d logits of the last logits() call in training mode. */
  backward(dlogits: Tensor): void {
    if (!this.features || !this.lastMap || !this.stemOut || !this.input) {
      throw new SenetError('SENET_ARGUMENT', 'SEResNeXt.backward: call logits() in training mode first');
    }
    if (!this.training) throw new SenetError('SENET_ARGUMENT', 'SEResNeXt.backward: the model is in eval mode; call train() and logits() first');
    const g = ops.linearBackward(dlogits, this.features, this.fcW.value, { bias: true, tf32: this.precision === 'tf32' }, { dx: this.dFeatures.get(this.features.shape), dw: this.fcW.grad, db: this.fcB.grad });
    // The pool takes back whatever a failed pass still holds, and frees shapes it did not use.
    const pool = this.gradientPool;
    try {
      let d = ops.globalAvgPoolBackward(g.dx!, this.lastMap.shape, pool.take(this.lastMap.shape, this.act));
      for (let i = this.blocks.length - 1; i >= 0; i--) d = this.blocks[i]!.backward(d);
      if (this.config.stem === 'imagenet') {
        const pooled = this.pooledStem.peek()!;
        const dStem = ops.maxPoolBackward(d, this.stemOut, pooled, MAXPOOL, pool.take(this.stemOut.shape, this.act));
        pool.give(d);
        d = dStem;
      }
      this.stem.backward(d, false);
      pool.give(d);
    } finally {
      pool.endPass();
      if (this.release) {
        // The stem's pooled output and the bf16 input copy were read last, by the stem and block 1.
        this.pooledStem.dispose();
        this.castInput.dispose();
        this.input = this.stemOut = this.features = this.lastMap = undefined;
      }
    }
  }

  /**
   * Logits of a batch in a tensor of your own (dispose it). `layout` says how x is laid out:
   * 'nhwc' (senet's, the default) or 'nchw' (PyTorch's). x may be on either device. The work is
   * queued and the call returns at once: `await logits.data()` reads the result.
   */
  forward(x: Tensor, options?: { layout?: InputLayout }): Tensor<'float32'> {
    const where = 'SEResNeXt.forward';
    const layout = checkOneOf(where, 'layout', options?.layout ?? 'nhwc', ['nhwc', 'nchw'] as const);
    let input = x;
    const owned: Tensor[] = [];
    if (x.device !== this.device) {
      input = copy(x, empty(x.shape, { device: this.device }));
      owned.push(input);
    }
    if (layout === 'nchw') {
      if (x.shape.length !== 4) fail('SENET_SHAPE', where, 'x', '(N, C, H, W)', shapeString(x.shape));
      input = ops.toChannelsLast(input);
      owned.push(input);
    }
    try {
      const logits = this.logits(input);
      return copy(logits, empty<'float32'>(logits.shape, { device: this.device }));
    } finally {
      for (const t of owned) t.dispose();
    }
  }

  private entries(): Entry[] {
    const out: Entry[] = [{ kind: 'conv', layer: this.stem }];
    for (const blk of this.blocks) {
      out.push({ kind: 'conv', layer: blk.conv1 }, { kind: 'conv', layer: blk.conv2 }, { kind: 'conv', layer: blk.conv3 });
      out.push({ kind: 'se', w1: blk.se.w1, b1: blk.se.b1, w2: blk.se.w2, b2: blk.se.b2 });
      if (blk.downsample) out.push({ kind: 'conv', layer: blk.downsample });
    }
    out.push({ kind: 'fc', w: this.fcW, b: this.fcB });
    return out;
  }

  /** Every state entry's name and PyTorch shape, in state_dict() order. */
  stateShapes(): Map<string, number[]> {
    const m = new Map<string, number[]>();
    for (const e of this.entries()) {
      if (e.kind === 'conv') {
        const l = e.layer;
        const [o, kh, kw, i] = l.w.shape as [number, number, number, number];
        m.set(l.w.name, [o, i, kh, kw]);
        for (const p of [l.gamma, l.beta, l.runningMean, l.runningVar]) m.set(p.name, [...p.shape]);
        m.set(`${l.spec.bn}.num_batches_tracked`, []);
      } else if (e.kind === 'se') {
        m.set(e.w1.name, [...e.w1.shape, 1, 1]);
        m.set(e.b1.name, [...e.b1.shape]);
        m.set(e.w2.name, [...e.w2.shape, 1, 1]);
        m.set(e.b2.name, [...e.b2.shape]);
      } else {
        m.set(e.w.name, [...e.w.shape]);
        m.set(e.b.name, [...e.b.shape]);
      }
    }
    return m;
  }

  /**
   * The weights and buffers in PyTorch's names, layouts and order (timm's state_dict). BLOCKS
   * until the work queued so far has run; readStateDict() does the same without blocking.
   */
  stateDict(): StateDict {
    return this.buildStateDict(this.params.values.toArray() as Float32Array, this.buffers.values.toArray() as Float32Array);
  }

  /**
   * stateDict() without blocking the JavaScript thread: the values after the work queued so far,
   * converted to PyTorch's layouts in slices that let the event loop run between them.
   */
  async readStateDict(): Promise<StateDict> {
    const [params, buffers] = await Promise.all([this.params.values.data(), this.buffers.values.data()]);
    const d: StateDict = new Map();
    let work = 0;
    for (const [name, entry] of this.stateEntries(params as Float32Array, buffers as Float32Array)) {
      d.set(name, entry());
      if ((work += d.get(name)!.data.length) > 1 << 17) {
        work = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    return d;
  }

  // Entries from host copies of the two arenas (each entry its own copy, in PyTorch's layout).
  private buildStateDict(params: Float32Array, buffers: Float32Array): StateDict {
    const d: StateDict = new Map();
    for (const [name, entry] of this.stateEntries(params, buffers)) d.set(name, entry());
    return d;
  }

  // Every state entry's name, in state_dict() order, with the function that makes it.
  private *stateEntries(params: Float32Array, buffers: Float32Array): Generator<[string, () => StateTensor]> {
    const count = (e: { shape: readonly number[] }) => e.shape.reduce((a, b) => a * b, 1);
    const p = (name: string) => {
      const e = this.params.get(name);
      return params.subarray(e.offset, e.offset + count(e));
    };
    const b = (name: string) => {
      const e = this.buffers.get(name);
      return buffers.slice(e.offset, e.offset + count(e));
    };
    for (const e of this.entries()) {
      if (e.kind === 'conv') {
        const l = e.layer;
        const [o, kh, kw, i] = l.w.shape as [number, number, number, number];
        yield [l.w.name, () => ({ shape: [o, i, kh, kw], data: ohwiToOihw(p(l.w.name), o, kh, kw, i) })];
        for (const q of [l.gamma, l.beta]) yield [q.name, () => ({ shape: [...q.shape], data: p(q.name).slice() })];
        for (const q of [l.runningMean, l.runningVar]) yield [q.name, () => ({ shape: [...q.shape], data: b(q.name) })];
        yield [`${l.spec.bn}.num_batches_tracked`, () => ({ shape: [], data: BigInt64Array.of(BigInt(l.batchesTracked)) })];
      } else if (e.kind === 'se') {
        yield [e.w1.name, () => ({ shape: [...e.w1.shape, 1, 1], data: p(e.w1.name).slice() })];
        yield [e.b1.name, () => ({ shape: [...e.b1.shape], data: p(e.b1.name).slice() })];
        yield [e.w2.name, () => ({ shape: [...e.w2.shape, 1, 1], data: p(e.w2.name).slice() })];
        yield [e.b2.name, () => ({ shape: [...e.b2.shape], data: p(e.b2.name).slice() })];
      } else {
        yield [e.w.name, () => ({ shape: [...e.w.shape], data: p(e.w.name).slice() })];
        yield [e.b.name, () => ({ shape: [...e.b.shape], data: p(e.b.name).slice() })];
      }
    }
  }

  /** Every parameter's gradient from the last backward(), in PyTorch's names, layouts and order. */
  gradients(): StateDict {
    const d: StateDict = new Map();
    const shapes = this.stateShapes();
    for (const p of this.paramList) {
      const shape = shapes.get(p.name)!;
      let data = p.grad.toArray() as Float32Array;
      if (p.shape.length === 4) {
        const [o, kh, kw, i] = p.shape as [number, number, number, number];
        data = ohwiToOihw(data, o, kh, kw, i);
      }
      d.set(p.name, { shape, data });
    }
    return d;
  }

  /**
   * Loads weights and buffers given in PyTorch's names and layouts. Every missing key, unexpected
   * key and shape mismatch is listed in one SENET_STATE_DICT error, and nothing is changed then.
   */
  loadStateDict(dict: StateDict | Record<string, StateTensor>, options?: LoadOptions): void {
    if (dict === null || typeof dict !== 'object') throw new SenetError('SENET_STATE_DICT', `loadStateDict: expected a Map or an object of tensors, received ${describe(dict)}`);
    const strict = checkOptions('loadStateDict', options).strict ?? true;
    const given: Map<string, StateTensor> = dict instanceof Map ? dict : new Map(Object.entries(dict));
    const expected = this.stateShapes();
    const missing: string[] = [];
    const mismatched: string[] = [];
    for (const [name, shape] of expected) {
      const t = given.get(name);
      if (!t) {
        missing.push(name);
        continue;
      }
      const count = shape.reduce((a, b) => a * b, 1);
      const floatEntry = !name.endsWith('num_batches_tracked');
      if (!Array.isArray(t.shape) || t.shape.length !== shape.length || t.shape.some((v, i) => v !== shape[i])) {
        mismatched.push(`${name}: expected shape ${shapeString(shape)}, received ${Array.isArray(t.shape) ? shapeString(t.shape) : 'no shape'}`);
      } else if (floatEntry ? !(t.data instanceof Float32Array) : !(t.data instanceof BigInt64Array)) {
        mismatched.push(`${name}: expected ${floatEntry ? 'a Float32Array' : 'a BigInt64Array'}`);
      } else if (t.data.length !== count) {
        mismatched.push(`${name}: expected ${count} values, received ${t.data.length}`);
      } else if (t.data instanceof Float32Array) {
        // A NaN weight or a negative variance would only show as a NaN loss later: refused here.
        const bad = t.data.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) mismatched.push(`${name}: expected finite values, received ${t.data[bad]} at index ${bad}`);
        else if (name.endsWith('running_var')) {
          const neg = t.data.findIndex((v) => v < 0);
          if (neg >= 0) mismatched.push(`${name}: expected variances >= 0, received ${t.data[neg]} at index ${neg}`);
        }
      } else if (t.data instanceof BigInt64Array && t.data.some((v) => v < 0n)) {
        mismatched.push(`${name}: expected a count >= 0`);
      }
    }
    const unexpected = [...given.keys()].filter((k) => !expected.has(k));
    const problems = [
      ...(mismatched.length ? [`shape, type or value problems: ${mismatched.join('; ')}`] : []),
      ...(strict && missing.length ? [`missing keys: ${missing.join(', ')}`] : []),
      ...(strict && unexpected.length ? [`unexpected keys: ${unexpected.join(', ')}`] : []),
    ];
    if (problems.length) throw new SenetError('SENET_STATE_DICT', `loadStateDict: ${problems.join('. ')}`);

    const get = (name: string) => given.get(name)?.data;
    const setParam = (p: { value: Tensor }, name: string, convert?: (a: Float32Array) => Float32Array) => {
      const a = get(name) as Float32Array | undefined;
      if (a) p.value.set(convert ? convert(a) : a);
    };
    for (const e of this.entries()) {
      if (e.kind === 'conv') {
        const l = e.layer;
        const [o, kh, kw, i] = l.w.shape as [number, number, number, number];
        setParam(l.w, l.w.name, (a) => oihwToOhwi(a, o, i, kh, kw));
        for (const p of [l.gamma, l.beta, l.runningMean, l.runningVar]) setParam(p, p.name);
        const nbt = get(`${l.spec.bn}.num_batches_tracked`) as BigInt64Array | undefined;
        if (nbt) l.batchesTracked = Number(nbt[0]);
      } else if (e.kind === 'se') {
        for (const p of [e.w1, e.b1, e.w2, e.b2]) setParam(p, p.name);
      } else {
        setParam(e.w, e.w.name);
        setParam(e.b, e.b.name);
      }
    }
    this.params.syncCopies();
  }

  /**
   * Writes this model to `path` as an ONNX inference graph (opset 17): float32 input `input`
   * (batch, inChannels, H, W) in NCHW with a dynamic batch, output `logits` (batch, numClasses),
   * the weights after the work queued so far. The file is replaced atomically. See exportOnnx()
   * for the options (input size, metadata) and the errors (SENET_ARGUMENT, SENET_IO).
   */
  async exportOnnx(path: string, options?: OnnxExportOptions): Promise<void> {
    const { exportOnnx } = await import('../export/onnx');
    return exportOnnx(this, path, options);
  }

  /** Frees parameters, buffers and activations. */
  dispose(): void {
    for (const l of this.layers()) l.dispose();
    for (const blk of this.blocks) blk.se.dispose();
    for (const s of [this.pooledStem, this.featureBuffer, this.logitBuffer, this.dFeatures, this.castInput]) s.dispose();
    this.gradientPool.dispose();
    this.params.dispose();
    this.buffers.dispose();
  }

  /** `using model = createModel(…)` disposes it at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

