/**
 * Stochastic gradient descent with torch.optim.SGD's semantics, over a whole parameter arena in
 * one op: momentum (the first step sets the buffer to the gradient), dampening, weight decay
 * (added to the gradient, for every parameter), nesterov.
 */
import type { ParameterArena } from '../arena';
import * as ops from '../ops';
import { zeros, type Tensor } from '../tensor';
import { checkBool, checkNumber, checkOptions, describe, fail } from '../validate';

/** SGD's hyper-parameters. */
export interface SGDOptions {
  /** Learning rate (a schedule may change `sgd.lr` between steps). */
  lr: number;
  /** Default 0. */
  momentum?: number;
  /** Default 0. */
  dampening?: number;
  /** Default 0. */
  weightDecay?: number;
  /** Default false. */
  nesterov?: boolean;
}

/** What a checkpoint keeps of the optimizer. */
export interface SGDState {
  stepCount: number;
  lr: number;
  momentumBuffer: Float32Array | null;
}

/** SGD over a model's parameter arena. */
export class SGD {
  /** Current learning rate. */
  lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  /** Steps taken. */
  stepCount = 0;
  private readonly arena: ParameterArena;
  private readonly buffer: Tensor | null;

  /** `target` is a model (its `params`) or a ParameterArena. */
  constructor(target: { params: ParameterArena } | ParameterArena, options: SGDOptions) {
    const where = 'SGD';
    const o = checkOptions(where, options);
    if (!target || typeof target !== 'object') fail('SENET_ARGUMENT', where, 'target', 'a model or a ParameterArena', describe(target));
    this.arena = 'params' in target ? target.params : target;
    this.lr = checkNumber(where, 'lr', o.lr, 0);
    this.momentum = checkNumber(where, 'momentum', o.momentum ?? 0, 0);
    this.dampening = checkNumber(where, 'dampening', o.dampening ?? 0);
    this.weightDecay = checkNumber(where, 'weightDecay', o.weightDecay ?? 0, 0);
    this.nesterov = checkBool(where, 'nesterov', o.nesterov ?? false);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      fail('SENET_ARGUMENT', where, 'nesterov', 'momentum > 0 and dampening 0 (as PyTorch)', `momentum ${this.momentum}, dampening ${this.dampening}`);
    }
    this.buffer = this.momentum !== 0 ? zeros([this.arena.length], { device: this.arena.values.device }) : null;
  }

  /** One update of every parameter from the gradients in the arena. */
  step(): void {
    ops.sgdStep(this.arena.values, this.arena.grads, this.buffer, {
      lr: this.lr,
      momentum: this.momentum,
      dampening: this.dampening,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov,
      firstStep: this.stepCount === 0,
    });
    this.stepCount += 1;
  }

  /** Step count, learning rate and momentum buffer (in the arena's layout). */
  state(): SGDState {
    return { stepCount: this.stepCount, lr: this.lr, momentumBuffer: this.buffer ? (this.buffer.toArray() as Float32Array) : null };
  }

  /** Restores what state() returned. */
  loadState(s: SGDState): void {
    this.stepCount = s.stepCount;
    this.lr = s.lr;
    if (this.buffer) {
      if (!s.momentumBuffer || s.momentumBuffer.length !== this.buffer.size) {
        fail('SENET_STATE_DICT', 'SGD.loadState', 'momentumBuffer', `${this.buffer.size} values`, s.momentumBuffer ? `${s.momentumBuffer.length}` : 'none');
      }
      this.buffer.set(s.momentumBuffer);
    }
  }

  /** Frees the momentum buffer. */
  dispose(): void {
    this.buffer?.dispose();
  }
}
