/**
 * The ops, typed: each has a forward and a backward. An op checks its arguments at the call
 * (bad shapes throw there, with their code), queues the work on the device's executor and
 * returns at once; the results are read with `await t.data()` (or the blocking `t.toArray()`).
 * Errors that can only appear while running (an out-of-range label, CUDA out of memory) reject
 * the next read.
 *
 * Every function takes its outputs optionally: pass tensors in `out` to reuse buffers (what
 * modules do, so that a training step allocates nothing); leave them out and new tensors are
 * made (yours to dispose). The native side owns every argument rule; this layer supplies the
 * defaults and the types.
 *
 * Layouts: activations (N, H, W, C); conv weights (Cout, kH, kW, Cin / groups); linear and SE
 * fc weights (Out, In).
 *
 * Element types: float32 everywhere, or, for mixed precision on a CPU with bf16 instructions,
 * bfloat16 activations (x, y, z, dy, dx of convBn, seForward / seBackward's maps, max pooling,
 * add) with the bf16 copy of a convolution's weights (`cast`); batch-norm parameters and
 * statistics, SE fc weights, every weight gradient, pooled features, logits and the loss stay
 * float32. Outputs an op makes take the type of its input map.
 */
import type { NativeConvBnParams, NativeMaxPoolParams, NativeSgdParams, NativeTensor } from '../binding';
import { binding } from './binding';
import { timed, type OpFamily } from './profile';
import { Tensor } from './tensor';
import { checkBool, checkOneOf, checkOptions, describe, fail } from './validate';

/** A size given once for both dimensions, or as [height, width]. */
export type Pair = number | readonly [number, number];

// Numbers pass through unchecked: the native side names a bad one (e.g. "strideH: expected …").
function pair(value: Pair | undefined, fallback: number): [number, number] {
  if (value === undefined) return [fallback, fallback];
  if (Array.isArray(value)) return [value[0] as number, value[1] as number];
  return [value as number, value as number];
}

// A Tensor's native handle; anything else goes through as it is, for the native check to name.
function n(t: unknown): NativeTensor {
  return (t instanceof Tensor ? t.native : t) as NativeTensor;
}

// An output argument: a tensor to write, null (not wanted) or undefined (to be made).
function o(t: Tensor | null | undefined): NativeTensor | null | undefined {
  return t === null ? null : t === undefined ? undefined : n(t);
}

// The Tensor for an output the op returned: the one given, or a new wrapper for one it made.
// Outputs are float32 but for the correct count (typed by its caller).
function back(native: NativeTensor, given: Tensor | null | undefined): Tensor<'float32'> {
  return (given instanceof Tensor && given.native === native ? given : new Tensor(native)) as Tensor<'float32'>;
}

function backOrNull(native: NativeTensor | null, given: Tensor | null | undefined): Tensor<'float32'> | null {
  return native === null ? null : back(native, given);
}

function object<T>(where: string, what: string, value: T, expected: string): T {
  if (value === null || typeof value !== 'object') fail('SENET_ARGUMENT', where, what, expected, describe(value));
  return value;
}

// The op's call, timed while the profiler is on.
function run<R>(family: OpFamily, op: string, fn: () => R): R {
  return timed(family, op, fn);
}

// ---------------------------------------------------------------------------------------------
// Convolution + batch norm + ReLU

/** Options of the fused convolution + batch norm (+ ReLU). Kernel size comes from the weight. */
export interface ConvBnOptions {
  /** Default 1. */
  stride?: Pair;
  /** Zero padding on each side; default 0. */
  padding?: Pair;
  /** Default 1; must divide both channel counts. */
  groups?: number;
  /** Apply ReLU after batch norm; default true. */
  relu?: boolean;
  /** Batch statistics (and running-statistics update) when true, running statistics when false; default true. */
  training?: boolean;
  /** Batch norm epsilon; default 1e-5. */
  eps?: number;
  /** Running-statistics momentum, PyTorch's convention; default 0.1. */
  momentum?: number;
  /** Allow TF32 tensor-core math in the GPU's convolutions (precision 'tf32'); default false. The CPU computes float32 either way. */
  tf32?: boolean;
}

/** Inputs of convBnForward. runningMean / runningVar are updated in place in training mode. */
export interface ConvBnInputs {
  /** (N, H, W, Cin) */
  x: Tensor;
  /** (Cout, kH, kW, Cin / groups) */
  w: Tensor;
  /** (Cout) batch norm scale */
  gamma: Tensor;
  /** (Cout) batch norm shift */
  beta: Tensor;
  /** (Cout) */
  runningMean: Tensor;
  /** (Cout) */
  runningVar: Tensor;
}

/** Outputs of convBnForward; z, saveMean and saveVar are what backward needs (null in inference unless given). */
export interface ConvBnOutputs {
  /** (N, Ho, Wo, Cout) */
  y: Tensor;
  /** (N, Ho, Wo, Cout) the convolution's output before batch norm */
  z: Tensor | null;
  /** (Cout) batch mean */
  saveMean: Tensor | null;
  /** (Cout) batch variance (biased) */
  saveVar: Tensor | null;
}

/** What convBnBackward reads. */
export interface ConvBnSaved {
  x: Tensor;
  w: Tensor;
  gamma: Tensor;
  z: Tensor;
  /** The forward's output, read only for the ReLU's mask (without a ReLU, any tensor of its shape and type). */
  y: Tensor;
  saveMean: Tensor;
  saveVar: Tensor;
}

/** Gradients from convBnBackward; dx is null when not asked for. */
export interface ConvBnGrads {
  dx: Tensor | null;
  dw: Tensor;
  dgamma: Tensor;
  dbeta: Tensor;
}

/** The native parameters of a conv + BN with weight w (its kernel size) and these options. */
export function convBnParams(where: string, w: Tensor, options?: ConvBnOptions): NativeConvBnParams {
  const opts = checkOptions(where, options);
  const shape = w instanceof Tensor ? w.shape : [];
  const [strideH, strideW] = pair(opts.stride, 1);
  const [padH, padW] = pair(opts.padding, 0);
  return {
    kernelH: shape[1] ?? 1,
    kernelW: shape[2] ?? 1,
    strideH,
    strideW,
    padH,
    padW,
    groups: opts.groups ?? 1,
    relu: opts.relu ?? true,
    training: opts.training ?? true,
    eps: opts.eps ?? 1e-5,
    momentum: opts.momentum ?? 0.1,
    tf32: opts.tf32 ?? false,
  };
}

/** The output shape (N, Ho, Wo, Cout) convBnForward gives for these inputs (checked as the op checks them). */
export function convBnOutputShape(inputs: ConvBnInputs, options?: ConvBnOptions): number[] {
  const where = 'convBnOutputShape';
  const i = object(where, 'inputs', inputs, 'an object { x, w, gamma, beta, runningMean, runningVar }');
  const params = convBnParams(where, i.w, options);
  return binding.convBnOutputShape({ x: n(i.x), w: n(i.w), gamma: n(i.gamma), beta: n(i.beta), runningMean: n(i.runningMean), runningVar: n(i.runningVar), params });
}

/** y = relu?(batchNorm(conv(x, w))). In training mode also updates the running statistics. */
export function convBnForward(inputs: ConvBnInputs, options?: ConvBnOptions, out?: Partial<ConvBnOutputs>): ConvBnOutputs {
  const where = 'convBnForward';
  const i = object(where, 'inputs', inputs, 'an object { x, w, gamma, beta, runningMean, runningVar }');
  const params = convBnParams(where, i.w, options);
  const r = run('conv', where, () =>
    binding.convBnForward({
      x: n(i.x), w: n(i.w), gamma: n(i.gamma), beta: n(i.beta), runningMean: n(i.runningMean), runningVar: n(i.runningVar),
      y: o(out?.y), z: o(out?.z), saveMean: o(out?.saveMean), saveVar: o(out?.saveVar), params,
    }),
  );
  return { y: back(r.y, out?.y), z: backOrNull(r.z, out?.z), saveMean: backOrNull(r.saveMean, out?.saveMean), saveVar: backOrNull(r.saveVar, out?.saveVar) };
}

/**
 * Gradients of a training-mode convBnForward. Pass `out.dx = null` to skip the input gradient
 * (a network's first layer). dw, dgamma and dbeta are overwritten, not accumulated.
 */
export function convBnBackward(dy: Tensor, saved: ConvBnSaved, options?: ConvBnOptions, out?: Partial<ConvBnGrads>): ConvBnGrads {
  const where = 'convBnBackward';
  const s = object(where, 'saved', saved, 'an object { x, w, gamma, z, y, saveMean, saveVar }');
  const params = convBnParams(where, s.w, options);
  const r = run('conv', where, () =>
    binding.convBnBackward({
      dy: n(dy), x: n(s.x), w: n(s.w), gamma: n(s.gamma), z: n(s.z), y: n(s.y), saveMean: n(s.saveMean), saveVar: n(s.saveVar),
      dx: o(out?.dx), dw: o(out?.dw), dgamma: o(out?.dgamma), dbeta: o(out?.dbeta), params,
    }),
  );
  return { dx: backOrNull(r.dx, out?.dx), dw: back(r.dw, out?.dw), dgamma: back(r.dgamma, out?.dgamma), dbeta: back(r.dbeta, out?.dbeta) };
}

// ---------------------------------------------------------------------------------------------
// Squeeze-and-excitation

/** The SE block's fully connected layers: w1 (R, C), b1 (R), w2 (C, R), b2 (C). */
export interface SeWeights {
  w1: Tensor;
  b1: Tensor;
  w2: Tensor;
  b2: Tensor;
}

/** Outputs of seForward: y, and what backward needs. */
export interface SeOutputs {
  /** (N, H, W, C) */
  y: Tensor;
  /** (N, C) mean of u over H and W */
  pooled: Tensor;
  /** (N, R) after fc1 and ReLU */
  hidden: Tensor;
  /** (N, C) the sigmoid gate */
  gate: Tensor;
  /** True when the forward had a shortcut (the fused residual add + ReLU). */
  residual: boolean;
}

/**
 * What seBackward reads: the forward's outputs with its input u. `residual` must say whether the
 * forward had a shortcut; then `y` (its output, for the final ReLU's mask) is required.
 */
export interface SeSaved {
  u: Tensor;
  pooled: Tensor;
  hidden: Tensor;
  gate: Tensor;
  residual: boolean;
  y?: Tensor;
}

/** Gradients from seBackward; dshortcut is null without a shortcut. */
export interface SeGrads {
  du: Tensor;
  dshortcut: Tensor | null;
  dw1: Tensor;
  db1: Tensor;
  dw2: Tensor;
  db2: Tensor;
}

/**
 * The SE block: y = u · sigmoid(fc2(relu(fc1(mean_hw(u))))), or with a shortcut the bottleneck's
 * fused end, y = relu(u · gate + shortcut).
 */
export function seForward(u: Tensor, weights: SeWeights, shortcut?: Tensor | null, out?: Partial<Omit<SeOutputs, 'residual'>>): SeOutputs {
  const where = 'seForward';
  const w = object(where, 'weights', weights, 'an object { w1, b1, w2, b2 }');
  const residual = shortcut !== undefined && shortcut !== null;
  const r = run('se', where, () =>
    binding.seForward({
      u: n(u), w1: n(w.w1), b1: n(w.b1), w2: n(w.w2), b2: n(w.b2), shortcut: residual ? n(shortcut) : null,
      y: o(out?.y), pooled: o(out?.pooled), hidden: o(out?.hidden), gate: o(out?.gate),
    }),
  );
  return { y: back(r.y, out?.y), pooled: back(r.pooled, out?.pooled), hidden: back(r.hidden, out?.hidden), gate: back(r.gate, out?.gate), residual };
}

/** Gradients of seForward: du, dshortcut (with a shortcut) and the four fc gradients (overwritten). */
export function seBackward(dy: Tensor, saved: SeSaved, weights: Pick<SeWeights, 'w1' | 'w2'>, out?: Partial<SeGrads>): SeGrads {
  const where = 'seBackward';
  const s = object(where, 'saved', saved, 'an object { u, pooled, hidden, gate, residual, y? }');
  const w = object(where, 'weights', weights, 'an object { w1, w2 }');
  if (typeof s.residual !== 'boolean') fail('SENET_ARGUMENT', where, 'saved.residual', 'a boolean (whether the forward had a shortcut)', describe(s.residual));
  const r = run('se', where, () =>
    binding.seBackward({
      dy: n(dy), u: n(s.u), y: s.y === undefined ? null : n(s.y), w1: n(w.w1), w2: n(w.w2), pooled: n(s.pooled), hidden: n(s.hidden), gate: n(s.gate),
      du: o(out?.du), dshortcut: o(out?.dshortcut), dw1: o(out?.dw1), db1: o(out?.db1), dw2: o(out?.dw2), db2: o(out?.db2),
      params: { residual: s.residual },
    }),
  );
  return {
    du: back(r.du, out?.du), dshortcut: backOrNull(r.dshortcut, out?.dshortcut),
    dw1: back(r.dw1, out?.dw1), db1: back(r.db1, out?.db1), dw2: back(r.dw2, out?.dw2), db2: back(r.db2, out?.db2),
  };
}

// ---------------------------------------------------------------------------------------------
// Pooling

/** Options of max pooling; the defaults are the ImageNet stem's 3×3, stride 2, padding 1. */
export interface MaxPoolOptions {
  kernel?: Pair;
  stride?: Pair;
  padding?: Pair;
}

function maxPoolParams(where: string, options?: MaxPoolOptions): NativeMaxPoolParams {
  const opts = checkOptions(where, options);
  const [kernelH, kernelW] = pair(opts.kernel, 3);
  const [strideH, strideW] = pair(opts.stride, 2);
  const [padH, padW] = pair(opts.padding, 1);
  return { kernelH, kernelW, strideH, strideW, padH, padW };
}

/** The output shape maxPoolForward gives for x. */
export function maxPoolOutputShape(x: Tensor, options?: MaxPoolOptions): number[] {
  return binding.maxPoolOutputShape({ x: n(x), params: maxPoolParams('maxPoolOutputShape', options) });
}

/** Max pooling over (N, H, W, C); padding never wins. */
export function maxPoolForward(x: Tensor, options?: MaxPoolOptions, out?: Tensor): Tensor {
  const where = 'maxPoolForward';
  const params = maxPoolParams(where, options);
  const r = run('pool', where, () => binding.maxPoolForward({ x: n(x), y: o(out), params }));
  return back(r.y, out);
}

/** dx of max pooling from dy and the forward's x and y; each window's gradient goes to its first maximum. */
export function maxPoolBackward(dy: Tensor, x: Tensor, y: Tensor, options?: MaxPoolOptions, out?: Tensor): Tensor {
  const where = 'maxPoolBackward';
  const params = maxPoolParams(where, options);
  const r = run('pool', where, () => binding.maxPoolBackward({ dy: n(dy), x: n(x), y: n(y), dx: o(out), params }));
  return back(r.dx, out);
}

/** Mean over H and W: (N, H, W, C) → (N, C). */
export function globalAvgPoolForward(x: Tensor, out?: Tensor): Tensor {
  const r = run('pool', 'globalAvgPoolForward', () => binding.globalAvgPoolForward({ x: n(x), y: o(out) }));
  return back(r.y, out);
}

/**
 * dx (N, H, W, C) of global average pooling from dy (N, C); `inputShape` is the forward's x shape.
 * A dx made here is float32 unless `options.dtype` is 'bfloat16' (a given `out` keeps its own).
 */
export function globalAvgPoolBackward(dy: Tensor, inputShape: readonly number[], out?: Tensor, options?: { dtype?: 'float32' | 'bfloat16' }): Tensor {
  const where = 'globalAvgPoolBackward';
  if (!Array.isArray(inputShape)) fail('SENET_ARGUMENT', where, 'inputShape', "the forward's input shape [N, H, W, C]", describe(inputShape));
  const dtype = checkOneOf(where, 'dtype', checkOptions(where, options).dtype ?? 'float32', ['float32', 'bfloat16'] as const);
  const params = { height: inputShape[1] as number, width: inputShape[2] as number, dtype };
  const r = run('pool', where, () => binding.globalAvgPoolBackward({ dy: n(dy), dx: o(out), params }));
  return back(r.dx, out);
}

// ---------------------------------------------------------------------------------------------
// Linear

/** Gradients from linearBackward; dx null when not asked for, db null without a bias. */
export interface LinearGrads {
  dx: Tensor | null;
  dw: Tensor;
  db: Tensor | null;
}

/** y = x wᵀ + b, with x (N, In), w (Out, In), b (Out) or null; `tf32` allows TF32 math on the GPU. */
export function linearForward(x: Tensor, w: Tensor, b?: Tensor | null, out?: Tensor, options?: { tf32?: boolean }): Tensor<'float32'> {
  const tf32 = checkOptions('linearForward', options).tf32 ?? false;
  const r = run('linear', 'linearForward', () => binding.linearForward({ x: n(x), w: n(w), b: b === undefined || b === null ? null : n(b), y: o(out), params: { tf32 } }));
  return back(r.y, out);
}

/**
 * Gradients of linearForward. `bias` (default true) says whether the forward had one; `out.dx = null`
 * skips dx; `tf32` allows TF32 math on the GPU.
 */
export function linearBackward(dy: Tensor, x: Tensor, w: Tensor, options?: { bias?: boolean; tf32?: boolean }, out?: Partial<LinearGrads>): LinearGrads {
  const where = 'linearBackward';
  const opts = checkOptions(where, options);
  const bias = opts.bias ?? true;
  const tf32 = opts.tf32 ?? false;
  const r = run('linear', where, () =>
    binding.linearBackward({ dy: n(dy), x: n(x), w: n(w), dx: o(out?.dx), dw: o(out?.dw), db: bias ? o(out?.db) : null, params: { bias, tf32 } }),
  );
  return { dx: backOrNull(r.dx, out?.dx), dw: back(r.dw, out?.dw), db: backOrNull(r.db, out?.db) };
}

// ---------------------------------------------------------------------------------------------
// Loss

/** Options of the cross-entropy loss. */
export interface CrossEntropyOptions {
  /** PyTorch's label smoothing ε in [0, 1]; default 0. */
  labelSmoothing?: number;
}

/** The loss (a float32 scalar tensor) and the count of correct predictions (an int32 scalar tensor). */
export interface CrossEntropyOutputs {
  loss: Tensor;
  correct: Tensor;
}

function lossParams(where: string, options?: CrossEntropyOptions): { labelSmoothing: number } {
  return { labelSmoothing: checkOptions(where, options).labelSmoothing ?? 0 };
}

/**
 * Mean softmax cross-entropy of logits (N, K) against labels (N), and the number of rows whose
 * first arg-max is the label. Both stay on the tensors' device until read. A label outside
 * [0, K) rejects the next read with SENET_ARGUMENT (on both backends).
 */
export function crossEntropyForward(logits: Tensor, labels: Tensor, options?: CrossEntropyOptions, out?: Partial<CrossEntropyOutputs>): CrossEntropyOutputs {
  const where = 'crossEntropyForward';
  const params = lossParams(where, options);
  const r = run('loss', where, () => binding.crossEntropyForward({ logits: n(logits), labels: n(labels), loss: o(out?.loss), correct: o(out?.correct), params }));
  return { loss: back(r.loss, out?.loss), correct: back(r.correct as NativeTensor, out?.correct) };
}

/** d(mean loss) / d logits, (N, K). */
export function crossEntropyBackward(logits: Tensor, labels: Tensor, options?: CrossEntropyOptions, out?: Tensor): Tensor {
  const where = 'crossEntropyBackward';
  const params = lossParams(where, options);
  const r = run('loss', where, () => binding.crossEntropyBackward({ logits: n(logits), labels: n(labels), dlogits: o(out), params }));
  return back(r.dlogits, out);
}

/** Probabilities (N, K): the softmax of each row of logits (N, K), on the logits' device. */
export function softmax(logits: Tensor, out?: Tensor): Tensor<'float32'> {
  const r = run('loss', 'softmax', () => binding.softmax({ logits: n(logits), probabilities: o(out) }));
  return back(r.probabilities, out);
}

// ---------------------------------------------------------------------------------------------
// SGD and element-wise

/** One SGD step's hyper-parameters, torch.optim.SGD's meaning. */
export interface SgdStepOptions {
  lr: number;
  /** Default 0. */
  momentum?: number;
  /** Default 0. */
  dampening?: number;
  /** L2 penalty added to the gradient; default 0. */
  weightDecay?: number;
  /** Default false; needs momentum > 0 and dampening 0. */
  nesterov?: boolean;
  /** True on the first step, when the momentum buffer is set to the gradient; default true. */
  firstStep?: boolean;
  /** An int32 scalar on the device: the step is skipped when it is not 0 when the step runs. */
  skipIf?: Tensor | null;
  /**
   * A bfloat16 tensor of param's size (mixed precision's weight copy): rewritten with the updated
   * weights in the same pass.
   */
  paramCopy?: Tensor | null;
}

/**
 * Updates `param` in place from `grad` (same element count; arenas or views of them). With
 * momentum, `momentumBuffer` (same size) carries the velocity between steps.
 */
export function sgdStep(param: Tensor, grad: Tensor, momentumBuffer: Tensor | null, options: SgdStepOptions): void {
  const where = 'sgdStep';
  const opts = object(where, 'options', options, 'an object with lr');
  const params: NativeSgdParams = {
    lr: opts.lr,
    momentum: opts.momentum ?? 0,
    dampening: opts.dampening ?? 0,
    weightDecay: opts.weightDecay ?? 0,
    nesterov: opts.nesterov ?? false,
    firstStep: opts.firstStep ?? true,
  };
  if (params.lr === undefined) fail('SENET_ARGUMENT', where, 'lr', 'a finite number >= 0', 'undefined');
  run('sgd', where, () =>
    binding.sgdStep({ param: n(param), grad: n(grad), momentumBuffer: momentumBuffer === null ? null : n(momentumBuffer), skip: opts.skipIf ? n(opts.skipIf) : null, paramCopy: opts.paramCopy ? n(opts.paramCopy) : null, params }),
  );
}

/**
 * The number of NaN or infinite elements of float32 tensors (of one device), into an int32
 * scalar on that device: a training loop's check that never waits for the device. With
 * `accumulate`, the number is added to what `out` holds (saturating at 2^31 - 1), so that a flag
 * set by one step stays set for the steps queued after it until the host clears it.
 */
export function nonFiniteCount(tensors: readonly Tensor[], out?: Tensor, options: { accumulate?: boolean } = {}): Tensor {
  const where = 'nonFiniteCount';
  if (!Array.isArray(tensors)) fail('SENET_ARGUMENT', where, 'tensors', 'an array of Tensors', describe(tensors));
  const accumulate = checkBool(where, 'accumulate', checkOptions(where, options).accumulate ?? false);
  if (accumulate && out === undefined) fail('SENET_ARGUMENT', where, 'out', 'a Tensor to add to when accumulate is true', 'undefined');
  const r = run('other', where, () => binding.countNonFinite({ tensors: tensors.map(n), count: o(out), params: { accumulate } }));
  return back(r.count, out);
}

/** How many elements of a float32 tensor are NaN or infinite. Blocking: it waits for the device (see nonFiniteCount). */
export function countNonFinite(t: Tensor): number {
  const count = nonFiniteCount([t]);
  try {
    return (count.toArray() as Int32Array)[0]!;
  } finally {
    count.dispose();
  }
}

/** out = a + b (float32, or bfloat16 summed in float32; all three one type, same shapes); out may be a or b. */
export function add(a: Tensor, b: Tensor, out?: Tensor): Tensor {
  const r = run('other', 'add', () => binding.add({ a: n(a), b: n(b), out: o(out) }));
  return back(r.out, out);
}

/**
 * x converted to `dtype` ('float32' or 'bfloat16'; round to nearest even, as torch.bfloat16), into
 * `out` (any shape with x's element count) or a new tensor of x's shape. Reading a bf16 tensor's
 * values: `await cast(t, 'float32').data()`.
 */
export function cast<D extends 'float32' | 'bfloat16'>(x: Tensor, dtype: D, out?: Tensor<D>): Tensor<D> {
  const to = checkOneOf('cast', 'dtype', dtype, ['float32', 'bfloat16'] as const);
  const r = run('other', 'cast', () => binding.cast({ x: n(x), y: o(out), params: { dtype: to } }));
  return back(r.y, out) as unknown as Tensor<D>;
}

/**
 * A batch of image bytes normalised on its device: y = table[c * 256 + x] where c is the channel
 * (x's last dimension), table (C, 256) float32 as a ByteBatch's `normalize`. y has x's shape, in
 * `out` (float32 or bfloat16: the table's value rounded once) or a new float32 tensor.
 */
export function normalizeBytes(x: Tensor, table: Tensor, out?: Tensor): Tensor {
  const r = run('data', 'normalizeBytes', () => binding.normalizeBytes({ x: n(x), table: n(table), y: o(out) }));
  return back(r.y, out);
}

/** y (N, H, W, C) from x (N, C, H, W): a PyTorch-layout batch in senet's layout, on x's device. */
export function toChannelsLast(x: Tensor, out?: Tensor): Tensor {
  const r = run('data', 'toChannelsLast', () => binding.toChannelsLast({ x: n(x), y: o(out) }));
  return back(r.y, out);
}
