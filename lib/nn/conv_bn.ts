/**
 * Convolution (no bias) → batch norm → optional ReLU, as one fused op. Parameter names follow
 * timm: `<conv>.weight`, `<bn>.weight` / `.bias`, buffers `<bn>.running_mean` / `.running_var`.
 */
import * as ops from '../ops';
import type { Tensor } from '../tensor';
import type { Builder, Buffer, Param } from './builder';
import { Slot } from '../slot';
import type { GradientPool } from './gradient_pool';

/** Shape and behaviour of one conv + BN (+ ReLU). */
export interface ConvBnSpec {
  conv: string;
  bn: string;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
  groups: number;
  relu: boolean;
  /** Start the BN scale at 0 (timm's zero_init_last for a block's last BN). */
  zeroGamma?: boolean;
}

/** A conv + BN (+ ReLU) layer with explicit forward and backward. */
export class ConvBn {
  readonly w: Param;
  readonly gamma: Param;
  readonly beta: Param;
  readonly runningMean: Buffer;
  readonly runningVar: Buffer;
  /** PyTorch's num_batches_tracked. */
  batchesTracked = 0;
  private readonly y: Slot;
  private readonly z: Slot;
  private readonly mean: Slot;
  private readonly variance: Slot;
  private readonly gradients: GradientPool;
  // The activations' element type, and whether the GPU may use TF32 (from the model's precision).
  private readonly act: 'float32' | 'bfloat16';
  private readonly tf32: boolean;
  private readonly release: boolean;
  private x: Tensor | undefined;
  // The last forward's output when it was the caller's buffer (see forward()).
  private outY: Tensor | undefined;
  private trainedForward = false;
  // The output shape for the last input shape (the op checks every call; this only sizes buffers).
  private shapeKey = '';
  private outShape: number[] = [];

  constructor(b: Builder, readonly spec: ConvBnSpec) {
    const { conv, bn, inChannels, outChannels, kernel, groups } = spec;
    this.w = b.param(`${conv}.weight`, [outChannels, kernel, kernel, inChannels / groups], { kind: 'kaimingNormal' });
    this.gamma = b.param(`${bn}.weight`, [outChannels], { kind: 'constant', value: spec.zeroGamma ? 0 : 1 });
    this.beta = b.param(`${bn}.bias`, [outChannels], { kind: 'constant', value: 0 });
    this.runningMean = b.buffer(`${bn}.running_mean`, [outChannels], 0);
    this.runningVar = b.buffer(`${bn}.running_var`, [outChannels], 1);
    this.act = b.activation;
    this.tf32 = b.precision === 'tf32';
    this.release = b.releaseActivations;
    this.y = new Slot(b.device);
    this.z = new Slot(b.device);
    this.mean = new Slot(b.device);
    this.variance = new Slot(b.device);
    this.gradients = b.gradients;
  }

  private options(training: boolean): ops.ConvBnOptions {
    const s = this.spec;
    return { stride: s.stride, padding: s.padding, groups: s.groups, relu: s.relu, training, tf32: this.tf32 };
  }

  // The weights the convolution reads: the bfloat16 copy in mixed precision.
  private weights(): Tensor {
    return this.w.copy ?? this.w.value;
  }

  /**
   * x (N, H, W, Cin) → y (N, Ho, Wo, Cout), a buffer of this layer's, valid until its next forward;
   * or, without a ReLU, one `take` hands out (a buffer the caller may reuse once y's readers are
   * queued: backward reads y only for the ReLU's mask).
   */
  forward(x: Tensor, training: boolean, take?: (shape: readonly number[], dtype: 'float32' | 'bfloat16') => Tensor): Tensor {
    if (take && this.spec.relu) throw new Error(`${this.spec.conv}: an output buffer of the caller's only without a ReLU`);
    const inputs = { x, w: this.weights(), gamma: this.gamma.value, beta: this.beta.value, runningMean: this.runningMean.value, runningVar: this.runningVar.value };
    const options = this.options(training);
    const key = x.shape.join(',');
    if (key !== this.shapeKey) {
      this.outShape = ops.convBnOutputShape(inputs, options);
      this.shapeKey = key;
    }
    const outShape = this.outShape;
    const c = this.spec.outChannels;
    this.outY = take ? take(outShape, this.act) : undefined;
    const y = this.outY ?? this.y.get(outShape, this.act);
    const out = ops.convBnForward(
      inputs,
      options,
      training ? { y, z: this.z.get(outShape, this.act), saveMean: this.mean.get([c]), saveVar: this.variance.get([c]) } : { y },
    );
    if (training) this.batchesTracked += 1;
    this.x = x;
    this.trainedForward = training;
    return out.y;
  }

  /**
   * Gradients into the arena from dy; returns dx (a buffer of the model's gradient pool, to give
   * back once its reader is queued), or null when not asked.
   */
  backward(dy: Tensor, needDx: boolean): Tensor | null {
    if (!this.x || !this.trainedForward) throw new Error(`${this.spec.conv}: backward needs a training-mode forward first`);
    const x = this.x;
    const g = ops.convBnBackward(
      dy,
      { x, w: this.weights(), gamma: this.gamma.value, z: this.z.peek()!, y: this.outY ?? this.y.peek()!, saveMean: this.mean.peek()!, saveVar: this.variance.peek()! },
      this.options(true),
      { dx: needDx ? this.gradients.take(x.shape, this.act) : null, dw: this.w.grad, dgamma: this.gamma.grad, dbeta: this.beta.grad },
    );
    // Freed after the op that reads them (disposal is queued behind it); the next forward allocates anew.
    if (this.release) this.dispose();
    return g.dx;
  }

  /** Frees the activation buffers (parameters live in the arenas). */
  dispose(): void {
    for (const s of [this.y, this.z, this.mean, this.variance]) s.dispose();
    this.x = undefined;
    this.outY = undefined;
    this.trainedForward = false;
  }
}
