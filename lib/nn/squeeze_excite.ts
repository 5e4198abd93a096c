/**
 * The SE block, fused with the bottleneck's residual add and final ReLU:
 * y = relu(u · sigmoid(fc2(relu(fc1(mean_hw(u))))) + shortcut). Names follow timm:
 * `<prefix>.fc1.weight` (R, C), `.fc1.bias`, `.fc2.weight` (C, R), `.fc2.bias`; in PyTorch's
 * state dict the fc weights are 1×1 convs, [R, C, 1, 1] and [C, R, 1, 1].
 */
import * as ops from '../ops';
import type { Tensor } from '../tensor';
import type { Builder, Param } from './builder';
import { Slot } from '../slot';
import type { GradientPool } from './gradient_pool';

/** timm's make_divisible(channels / 16, 8): the SE hidden width. */
export function seHiddenWidth(channels: number, ratio = 1 / 16, divisor = 8): number {
  const v = channels * ratio;
  return Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
}

/** The fused SE + residual + ReLU layer. */
export class SqueezeExcite {
  readonly w1: Param;
  readonly b1: Param;
  readonly w2: Param;
  readonly b2: Param;
  private readonly y: Slot;
  private readonly pooled: Slot;
  private readonly hidden: Slot;
  private readonly gate: Slot;
  private readonly gradients: GradientPool;
  private readonly act: 'float32' | 'bfloat16';
  private readonly release: boolean;
  private u: Tensor | undefined;

  constructor(b: Builder, prefix: string, channels: number) {
    const r = seHiddenWidth(channels);
    // timm initialises these 1×1 convs like every conv (Kaiming normal, fan-out); their biases
    // keep PyTorch's default, U(±1/√fan_in).
    this.w1 = b.param(`${prefix}.fc1.weight`, [r, channels], { kind: 'kaimingNormal' });
    this.b1 = b.param(`${prefix}.fc1.bias`, [r], { kind: 'uniform', bound: 1 / Math.sqrt(channels) });
    this.w2 = b.param(`${prefix}.fc2.weight`, [channels, r], { kind: 'kaimingNormal' });
    this.b2 = b.param(`${prefix}.fc2.bias`, [channels], { kind: 'uniform', bound: 1 / Math.sqrt(r) });
    this.act = b.activation;
    this.y = new Slot(b.device);
    this.pooled = new Slot(b.device);
    this.hidden = new Slot(b.device);
    this.gate = new Slot(b.device);
    this.gradients = b.gradients;
    this.release = b.releaseActivations;
  }

  private weights(): ops.SeWeights {
    return { w1: this.w1.value, b1: this.b1.value, w2: this.w2.value, b2: this.b2.value };
  }

  /** y = relu(u · gate + shortcut), a buffer of this layer's. */
  forward(u: Tensor, shortcut: Tensor): Tensor {
    const n = u.shape[0]!, c = u.shape[3]!, r = this.w1.shape[0]!;
    const out = ops.seForward(u, this.weights(), shortcut, {
      y: this.y.get(u.shape, this.act),
      pooled: this.pooled.get([n, c]),
      hidden: this.hidden.get([n, r]),
      gate: this.gate.get([n, c]),
    });
    this.u = u;
    return out.y;
  }

  /** du and dshortcut from dy; the fc gradients go to the arena. */
  backward(dy: Tensor): { du: Tensor; dshortcut: Tensor } {
    const u = this.u;
    if (!u) throw new Error('SqueezeExcite.backward needs a forward first');
    const g = ops.seBackward(
      dy,
      { u, pooled: this.pooled.peek()!, hidden: this.hidden.peek()!, gate: this.gate.peek()!, residual: true, y: this.y.peek()! },
      { w1: this.w1.value, w2: this.w2.value },
      { du: this.gradients.take(u.shape, this.act), dshortcut: this.gradients.take(u.shape, this.act), dw1: this.w1.grad, db1: this.b1.grad, dw2: this.w2.grad, db2: this.b2.grad },
    );
    // y is also the next block's input, whose backward has run already.
    if (this.release) this.dispose();
    return { du: g.du, dshortcut: g.dshortcut! };
  }

  dispose(): void {
    for (const s of [this.y, this.pooled, this.hidden, this.gate]) s.dispose();
    this.u = undefined;
  }
}
