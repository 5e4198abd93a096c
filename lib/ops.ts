/**
 * The ops, typed and validated: each has a forward and a backward. Every function takes its
 * outputs optionally: pass tensors in `out` to reuse buffers (what modules do, so that a training
 * step allocates nothing); leave them out and new tensors are made (yours to dispose).
 *
 * Layouts: activations (N, H, W, C); conv weights (Cout, kH, kW, Cin / groups); linear and SE
 * fc weights (Out, In).
 */
import type { NativeConvBnParams, NativeMaxPoolParams, NativeSgdParams } from '../binding';
import { binding } from './binding';
import { timed } from './profile';
import { checkTensor, empty, type Tensor } from './tensor';
import { checkBool, checkInt, checkNumber, checkOptions, describe, fail, shapeString } from './validate';

/** A size given once for both dimensions, or as [height, width]. */
export type Pair = number | readonly [number, number];

function pair(where: string, what: string, value: Pair | undefined, fallback: number, min: number): [number, number] {
  if (value === undefined) return [fallback, fallback];
  if (typeof value === 'number') {
    const v = checkInt(where, what, value, min);
    return [v, v];
  }
  if (!Array.isArray(value) || value.length !== 2) fail('SENET_ARGUMENT', where, what, 'an integer or [height, width]', describe(value));
  return [checkInt(where, `${what}[0]`, value[0], min), checkInt(where, `${what}[1]`, value[1], min)];
}

function rank(where: string, what: string, t: Tensor, r: number): readonly number[] {
  checkTensor(where, what, t);
  if (t.dtype !== 'float32') fail('SENET_DTYPE', where, what, 'dtype float32', t.dtype);
  if (t.shape.length !== r) fail('SENET_SHAPE', where, what, `rank ${r}`, `shape ${shapeString(t.shape)}`);
  t.shape.forEach((d, i) => {
    if (d <= 0) fail('SENET_SHAPE', where, `${what}.shape[${i}]`, 'a size > 0', String(d));
  });
  return t.shape;
}

function alloc(shape: readonly number[], like: Tensor): Tensor {
  return empty(shape, { device: like.device });
}

function outputSize(size: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}

function nullable(t: Tensor | null | undefined): Tensor['native'] | null {
  return t ? t.native : null;
}

// Disposes what an op allocated when the op itself throws, so that a failed call leaks nothing.
function guard<R>(made: Tensor[], run: () => R): R {
  try {
    return run();
  } catch (err) {
    for (const t of made) t.dispose();
    throw err;
  }
}

function fresh(given: Tensor | null | undefined, made: Tensor[], make: () => Tensor): Tensor {
  if (given) return given;
  const t = make();
  made.push(t);
  return t;
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

/** The parameters a conv + BN call resolves to, with the output shape. */
export function convBnParams(where: string, x: Tensor, w: Tensor, options?: ConvBnOptions): { params: NativeConvBnParams; outShape: number[] } {
  const o = checkOptions(where, options);
  const [n, h, wd, cin] = rank(where, 'x', x, 4) as [number, number, number, number];
  const [cout, kh, kw, cg] = rank(where, 'w', w, 4) as [number, number, number, number];
  const [strideH, strideW] = pair(where, 'stride', o.stride, 1, 1);
  const [padH, padW] = pair(where, 'padding', o.padding, 0, 0);
  const groups = checkInt(where, 'groups', o.groups ?? 1, 1);
  if (cin % groups !== 0) fail('SENET_ARGUMENT', where, 'groups', `a divisor of the input channels (${cin})`, String(groups));
  if (cout % groups !== 0) fail('SENET_ARGUMENT', where, 'groups', `a divisor of the output channels (${cout})`, String(groups));
  if (cg !== cin / groups) fail('SENET_SHAPE', where, 'w', `shape [${cout}, ${kh}, ${kw}, ${cin / groups}] for ${cin} input channels in ${groups} groups`, shapeString(w.shape));
  const ho = outputSize(h, kh, strideH, padH);
  const wo = outputSize(wd, kw, strideW, padW);
  if (ho <= 0 || wo <= 0) fail('SENET_SHAPE', where, 'x', `an input at least as large as the kernel ${kh}x${kw} with its padding`, shapeString(x.shape));
  const params: NativeConvBnParams = {
    kernelH: kh,
    kernelW: kw,
    strideH,
    strideW,
    padH,
    padW,
    groups,
    relu: checkBool(where, 'relu', o.relu ?? true),
    training: checkBool(where, 'training', o.training ?? true),
    eps: checkNumber(where, 'eps', o.eps ?? 1e-5, Number.MIN_VALUE),
    momentum: checkNumber(where, 'momentum', o.momentum ?? 0.1, 0, 1),
  };
  return { params, outShape: [n, ho, wo, cout] };
}

/** y = relu?(batchNorm(conv(x, w))). In training mode also updates the running statistics. */
export function convBnForward(inputs: ConvBnInputs, options?: ConvBnOptions, out?: Partial<ConvBnOutputs>): ConvBnOutputs {
  const where = 'convBnForward';
  if (inputs === null || typeof inputs !== 'object') fail('SENET_ARGUMENT', where, 'inputs', 'an object { x, w, gamma, beta, runningMean, runningVar }', describe(inputs));
  const { x, w, gamma, beta, runningMean, runningVar } = inputs;
  const { params, outShape } = convBnParams(where, x, w, options);
  for (const [name, t] of Object.entries({ gamma, beta, runningMean, runningVar })) checkTensor(where, name, t);
  const cout = outShape[3]!;
  const made: Tensor[] = [];
  return guard(made, () => {
    const y = fresh(out?.y, made, () => alloc(outShape, x));
    const keep = params.training;
    const z = keep || out?.z ? fresh(out?.z, made, () => alloc(outShape, x)) : null;
    const saveMean = keep || out?.saveMean ? fresh(out?.saveMean, made, () => alloc([cout], x)) : null;
    const saveVar = keep || out?.saveVar ? fresh(out?.saveVar, made, () => alloc([cout], x)) : null;
    timed('conv', 'convBnForward', () => binding.convBnForward(x.native, w.native, gamma.native, beta.native, runningMean.native, runningVar.native,
      y.native, nullable(z), nullable(saveMean), nullable(saveVar), params));
    return { y, z, saveMean, saveVar };
  });
}

/**
 * Gradients of a training-mode convBnForward. Pass `out.dx = null` to skip the input gradient
 * (a network's first layer). dw, dgamma and dbeta are overwritten, not accumulated.
 */
export function convBnBackward(dy: Tensor, saved: ConvBnSaved, options?: ConvBnOptions, out?: Partial<ConvBnGrads>): ConvBnGrads {
  const where = 'convBnBackward';
  if (saved === null || typeof saved !== 'object') fail('SENET_ARGUMENT', where, 'saved', 'an object { x, w, gamma, z, y, saveMean, saveVar }', describe(saved));
  const { x, w, gamma, z, y, saveMean, saveVar } = saved;
  const { params } = convBnParams(where, x, w, options);
  checkTensor(where, 'dy', dy);
  for (const [name, t] of Object.entries({ gamma, z, y, saveMean, saveVar })) checkTensor(where, name, t);
  const made: Tensor[] = [];
  return guard(made, () => {
    const dx = out?.dx === null ? null : fresh(out?.dx, made, () => alloc(x.shape, x));
    const dw = fresh(out?.dw, made, () => alloc(w.shape, x));
    const dgamma = fresh(out?.dgamma, made, () => alloc(gamma.shape, x));
    const dbeta = fresh(out?.dbeta, made, () => alloc(gamma.shape, x));
    timed('conv', 'convBnBackward', () => binding.convBnBackward(dy.native, x.native, w.native, gamma.native, z.native, y.native, saveMean.native, saveVar.native,
      nullable(dx), dw.native, dgamma.native, dbeta.native, params));
    return { dx, dw, dgamma, dbeta };
  });
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
}

/** What seBackward reads. Give `y` exactly when the forward had a shortcut (its ReLU's mask). */
export interface SeSaved {
  u: Tensor;
  pooled: Tensor;
  hidden: Tensor;
  gate: Tensor;
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

function seShapes(where: string, u: Tensor, weights: Partial<SeWeights>): { n: number; c: number; r: number } {
  if (weights === null || typeof weights !== 'object') fail('SENET_ARGUMENT', where, 'weights', 'an object { w1, b1, w2, b2 }', describe(weights));
  const [n, , , c] = rank(where, 'u', u, 4) as [number, number, number, number];
  const [r, c1] = rank(where, 'w1', weights.w1 as Tensor, 2) as [number, number];
  if (c1 !== c) fail('SENET_SHAPE', where, 'w1', `shape [${r}, ${c}] for ${c} channels`, shapeString((weights.w1 as Tensor).shape));
  return { n, c, r };
}

/**
 * The SE block: y = u · sigmoid(fc2(relu(fc1(mean_hw(u))))), or with a shortcut the bottleneck's
 * fused end, y = relu(u · gate + shortcut).
 */
export function seForward(u: Tensor, weights: SeWeights, shortcut?: Tensor | null, out?: Partial<SeOutputs>): SeOutputs {
  const where = 'seForward';
  const { n, c, r } = seShapes(where, u, weights);
  for (const [name, t] of Object.entries(weights)) checkTensor(where, name, t);
  if (shortcut) checkTensor(where, 'shortcut', shortcut);
  const made: Tensor[] = [];
  return guard(made, () => {
    const y = fresh(out?.y, made, () => alloc(u.shape, u));
    const pooled = fresh(out?.pooled, made, () => alloc([n, c], u));
    const hidden = fresh(out?.hidden, made, () => alloc([n, r], u));
    const gate = fresh(out?.gate, made, () => alloc([n, c], u));
    timed('se', 'seForward', () => binding.seForward(u.native, weights.w1.native, weights.b1.native, weights.w2.native, weights.b2.native,
      nullable(shortcut), y.native, pooled.native, hidden.native, gate.native));
    return { y, pooled, hidden, gate };
  });
}

/** Gradients of seForward: du, dshortcut (with a shortcut) and the four fc gradients (overwritten). */
export function seBackward(dy: Tensor, saved: SeSaved, weights: Pick<SeWeights, 'w1' | 'w2'>, out?: Partial<SeGrads>): SeGrads {
  const where = 'seBackward';
  if (saved === null || typeof saved !== 'object') fail('SENET_ARGUMENT', where, 'saved', 'an object { u, pooled, hidden, gate, y? }', describe(saved));
  const { u, pooled, hidden, gate, y } = saved;
  const { c, r } = seShapes(where, u, weights);
  checkTensor(where, 'dy', dy);
  for (const [name, t] of Object.entries({ pooled, hidden, gate, w2: weights.w2 })) checkTensor(where, name, t);
  const made: Tensor[] = [];
  return guard(made, () => {
    const du = fresh(out?.du, made, () => alloc(u.shape, u));
    const dshortcut = y ? fresh(out?.dshortcut, made, () => alloc(u.shape, u)) : null;
    const dw1 = fresh(out?.dw1, made, () => alloc([r, c], u));
    const db1 = fresh(out?.db1, made, () => alloc([r], u));
    const dw2 = fresh(out?.dw2, made, () => alloc([c, r], u));
    const db2 = fresh(out?.db2, made, () => alloc([c], u));
    timed('se', 'seBackward', () => binding.seBackward(dy.native, u.native, nullable(y), weights.w1.native, weights.w2.native, pooled.native, hidden.native,
      gate.native, du.native, nullable(dshortcut), dw1.native, db1.native, dw2.native, db2.native));
    return { du, dshortcut, dw1, db1, dw2, db2 };
  });
}

// ---------------------------------------------------------------------------------------------
// Pooling

/** Options of max pooling; the defaults are the ImageNet stem's 3×3, stride 2, padding 1. */
export interface MaxPoolOptions {
  kernel?: Pair;
  stride?: Pair;
  padding?: Pair;
}

function maxPoolParams(where: string, x: Tensor, options?: MaxPoolOptions): { params: NativeMaxPoolParams; outShape: number[] } {
  const o = checkOptions(where, options);
  const [n, h, w, c] = rank(where, 'x', x, 4) as [number, number, number, number];
  const [kernelH, kernelW] = pair(where, 'kernel', o.kernel, 3, 1);
  const [strideH, strideW] = pair(where, 'stride', o.stride, 2, 1);
  const [padH, padW] = pair(where, 'padding', o.padding, 1, 0);
  if (2 * padH > kernelH || 2 * padW > kernelW) fail('SENET_ARGUMENT', where, 'padding', 'at most half the kernel', `${padH}x${padW} for kernel ${kernelH}x${kernelW}`);
  const ho = outputSize(h, kernelH, strideH, padH);
  const wo = outputSize(w, kernelW, strideW, padW);
  if (ho <= 0 || wo <= 0) fail('SENET_SHAPE', where, 'x', `an input at least as large as the window ${kernelH}x${kernelW}`, shapeString(x.shape));
  return { params: { kernelH, kernelW, strideH, strideW, padH, padW }, outShape: [n, ho, wo, c] };
}

/** Max pooling over (N, H, W, C); padding never wins. */
export function maxPoolForward(x: Tensor, options?: MaxPoolOptions, out?: Tensor): Tensor {
  const { params, outShape } = maxPoolParams('maxPoolForward', x, options);
  const made: Tensor[] = [];
  return guard(made, () => {
    const y = fresh(out, made, () => alloc(outShape, x));
    timed('pool', 'maxPoolForward', () => binding.maxPoolForward(x.native, y.native, params));
    return y;
  });
}

/** dx of max pooling from dy and the forward's x and y; each window's gradient goes to its first maximum. */
export function maxPoolBackward(dy: Tensor, x: Tensor, y: Tensor, options?: MaxPoolOptions, out?: Tensor): Tensor {
  const { params } = maxPoolParams('maxPoolBackward', x, options);
  checkTensor('maxPoolBackward', 'dy', dy);
  checkTensor('maxPoolBackward', 'y', y);
  const made: Tensor[] = [];
  return guard(made, () => {
    const dx = fresh(out, made, () => alloc(x.shape, x));
    timed('pool', 'maxPoolBackward', () => binding.maxPoolBackward(dy.native, x.native, y.native, dx.native, params));
    return dx;
  });
}

/** Mean over H and W: (N, H, W, C) → (N, C). */
export function globalAvgPoolForward(x: Tensor, out?: Tensor): Tensor {
  const [n, , , c] = rank('globalAvgPoolForward', 'x', x, 4) as [number, number, number, number];
  const made: Tensor[] = [];
  return guard(made, () => {
    const y = fresh(out, made, () => alloc([n, c], x));
    timed('pool', 'globalAvgPoolForward', () => binding.globalAvgPoolForward(x.native, y.native));
    return y;
  });
}

/** dx (N, H, W, C) of global average pooling from dy (N, C); `inputShape` is the forward's x shape. */
export function globalAvgPoolBackward(dy: Tensor, inputShape: readonly number[], out?: Tensor): Tensor {
  checkTensor('globalAvgPoolBackward', 'dy', dy);
  const made: Tensor[] = [];
  return guard(made, () => {
    const dx = fresh(out, made, () => empty(inputShape, { device: dy.device }));
    timed('pool', 'globalAvgPoolBackward', () => binding.globalAvgPoolBackward(dy.native, dx.native));
    return dx;
  });
}

// ---------------------------------------------------------------------------------------------
// Linear

/** Gradients from linearBackward; dx null when not asked for, db null without a bias. */
export interface LinearGrads {
  dx: Tensor | null;
  dw: Tensor;
  db: Tensor | null;
}

/** y = x wᵀ + b, with x (N, In), w (Out, In), b (Out) or null. */
export function linearForward(x: Tensor, w: Tensor, b?: Tensor | null, out?: Tensor): Tensor {
  const where = 'linearForward';
  const [n] = rank(where, 'x', x, 2) as [number];
  const [outF] = rank(where, 'w', w, 2) as [number];
  if (b) checkTensor(where, 'b', b);
  const made: Tensor[] = [];
  return guard(made, () => {
    const y = fresh(out, made, () => alloc([n, outF], x));
    timed('linear', 'linearForward', () => binding.linearForward(x.native, w.native, nullable(b), y.native));
    return y;
  });
}

/** Gradients of linearForward. `bias` (default true) says whether the forward had one; `out.dx = null` skips dx. */
export function linearBackward(dy: Tensor, x: Tensor, w: Tensor, options?: { bias?: boolean }, out?: Partial<LinearGrads>): LinearGrads {
  const where = 'linearBackward';
  rank(where, 'x', x, 2);
  const [outF] = rank(where, 'w', w, 2) as [number];
  checkTensor(where, 'dy', dy);
  const bias = checkBool(where, 'bias', checkOptions(where, options).bias ?? true);
  const made: Tensor[] = [];
  return guard(made, () => {
    const dx = out?.dx === null ? null : fresh(out?.dx, made, () => alloc(x.shape, x));
    const dw = fresh(out?.dw, made, () => alloc(w.shape, x));
    const db = bias ? fresh(out?.db, made, () => alloc([outF], x)) : null;
    timed('linear', 'linearBackward', () => binding.linearBackward(dy.native, x.native, w.native, nullable(dx), dw.native, nullable(db)));
    return { dx, dw, db };
  });
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

function lossParams(where: string, logits: Tensor, labels: Tensor, options?: CrossEntropyOptions): { labelSmoothing: number } {
  rank(where, 'logits', logits, 2);
  checkTensor(where, 'labels', labels);
  if (labels.dtype !== 'int64' && labels.dtype !== 'int32') fail('SENET_DTYPE', where, 'labels', 'dtype int64 or int32', labels.dtype);
  const o = checkOptions(where, options);
  return { labelSmoothing: checkNumber(where, 'labelSmoothing', o.labelSmoothing ?? 0, 0, 1) };
}

/**
 * Mean softmax cross-entropy of logits (N, K) against labels (N), and the number of rows whose
 * first arg-max is the label. Both stay on the tensors' device until read.
 */
export function crossEntropyForward(logits: Tensor, labels: Tensor, options?: CrossEntropyOptions, out?: Partial<CrossEntropyOutputs>): CrossEntropyOutputs {
  const params = lossParams('crossEntropyForward', logits, labels, options);
  const made: Tensor[] = [];
  return guard(made, () => {
    const loss = fresh(out?.loss, made, () => empty([], { device: logits.device }));
    const correct = fresh(out?.correct, made, () => empty([], { dtype: 'int32', device: logits.device }));
    timed('loss', 'crossEntropyForward', () => binding.crossEntropyForward(logits.native, labels.native, loss.native, correct.native, params));
    return { loss, correct };
  });
}

/** d(mean loss) / d logits, (N, K). */
export function crossEntropyBackward(logits: Tensor, labels: Tensor, options?: CrossEntropyOptions, out?: Tensor): Tensor {
  const params = lossParams('crossEntropyBackward', logits, labels, options);
  const made: Tensor[] = [];
  return guard(made, () => {
    const dlogits = fresh(out, made, () => alloc(logits.shape, logits));
    timed('loss', 'crossEntropyBackward', () => binding.crossEntropyBackward(logits.native, labels.native, dlogits.native, params));
    return dlogits;
  });
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
}

/**
 * Updates `param` in place from `grad` (same element count; arenas or views of them). With
 * momentum, `momentumBuffer` (same size) carries the velocity between steps.
 */
export function sgdStep(param: Tensor, grad: Tensor, momentumBuffer: Tensor | null, options: SgdStepOptions): void {
  const where = 'sgdStep';
  checkTensor(where, 'param', param);
  checkTensor(where, 'grad', grad);
  if (momentumBuffer) checkTensor(where, 'momentumBuffer', momentumBuffer);
  if (options === null || typeof options !== 'object') fail('SENET_ARGUMENT', where, 'options', 'an object with lr', describe(options));
  const params: NativeSgdParams = {
    lr: checkNumber(where, 'lr', options.lr, 0),
    momentum: checkNumber(where, 'momentum', options.momentum ?? 0, 0),
    dampening: checkNumber(where, 'dampening', options.dampening ?? 0),
    weightDecay: checkNumber(where, 'weightDecay', options.weightDecay ?? 0, 0),
    nesterov: checkBool(where, 'nesterov', options.nesterov ?? false),
    firstStep: checkBool(where, 'firstStep', options.firstStep ?? true),
  };
  if (params.nesterov && (params.momentum <= 0 || params.dampening !== 0)) {
    fail('SENET_ARGUMENT', where, 'nesterov', 'momentum > 0 and dampening 0 (as PyTorch)', `momentum ${params.momentum}, dampening ${params.dampening}`);
  }
  if (params.momentum !== 0 && !momentumBuffer) fail('SENET_ARGUMENT', where, 'momentumBuffer', 'a tensor when momentum is not 0', 'null');
  timed('sgd', 'sgdStep', () => binding.sgdStep(param.native, grad.native, nullable(momentumBuffer), params));
}

/** How many elements of a float32 tensor are NaN or infinite (reads back a number: a device sync on CUDA). */
export function countNonFinite(t: Tensor): number {
  checkTensor('countNonFinite', 'tensor', t);
  return timed('other', 'countNonFinite', () => binding.countNonFinite(t.native));
}

/** out = a + b (float32, same shapes); out may be a or b. */
export function add(a: Tensor, b: Tensor, out?: Tensor): Tensor {
  checkTensor('add', 'a', a);
  checkTensor('add', 'b', b);
  const made: Tensor[] = [];
  return guard(made, () => {
    const o = fresh(out, made, () => alloc(a.shape, a));
    timed('other', 'add', () => binding.add(a.native, b.native, o.native));
    return o;
  });
}
