/**
 * Stochastic gradient descent with torch.optim.SGD's semantics, over a whole parameter arena in
 * one op: momentum (the first step sets the buffer to the gradient), dampening, weight decay
 * (added to the gradient, for every parameter), nesterov.
 */
import type { ParameterArena } from '../arena';
import { binding } from '../binding';
import * as ops from '../ops';
import { zeros, type Tensor } from '../tensor';
import { checkInt, checkNumber, checkOptions, describe, fail } from '../validate';

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
  // The next step sets the buffer to the gradient (a fresh optimizer, or a state without a buffer).
  private restartBuffer = true;
  private lastStepRestarted = false;

  /** `target` is a model (its `params`) or a ParameterArena. */
  constructor(target: { params: ParameterArena } | ParameterArena, options: SGDOptions) {
    const where = 'SGD';
    const o = checkOptions(where, options);
    if (!target || typeof target !== 'object') fail('SENET_ARGUMENT', where, 'target', 'a model or a ParameterArena', describe(target));
    this.arena = 'params' in target ? target.params : target;
    if (o.lr === undefined) fail('SENET_ARGUMENT', where, 'lr', 'a number >= 0', 'undefined');
    this.lr = o.lr;
    this.momentum = o.momentum ?? 0;
    this.dampening = o.dampening ?? 0;
    this.weightDecay = o.weightDecay ?? 0;
    this.nesterov = o.nesterov ?? false;
    // The native check owns the rules (ranges, nesterov's conditions): refused here, up front.
    binding.sgdCheckParams({ params: { lr: this.lr, momentum: this.momentum, dampening: this.dampening, weightDecay: this.weightDecay, nesterov: this.nesterov, firstStep: true } });
    this.buffer = this.momentum !== 0 ? zeros([this.arena.length], { device: this.arena.values.device }) : null;
  }

  /**
   * Queues one update of every parameter from the gradients in the arena. With `skipIf` (an
   * int32 scalar on the device, e.g. a non-finite count) the update is skipped when it is not 0
   * when the step runs; call `uncountStep()` once the host knows it was. An arena with bf16
   * copies (a model in precision 'bf16') has them rewritten from the updated weights.
   */
  step(options?: { skipIf?: Tensor }): void {
    ops.sgdStep(this.arena.values, this.arena.grads, this.buffer, {
      lr: this.lr,
      momentum: this.momentum,
      dampening: this.dampening,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov,
      firstStep: this.restartBuffer,
      skipIf: options?.skipIf ?? null,
      // Mixed precision: the bf16 weights the convolutions read follow in the same pass.
      paramCopy: this.arena.copies,
    });
    this.stepCount += 1;
    this.lastStepRestarted = this.restartBuffer;
    this.restartBuffer = false;
  }

  /**
   * True when the last step() set the momentum buffer to the gradient (the first step, or the
   * first after a state without a buffer): if the device skipped it, the next step must set it
   * again, so a training loop learns its outcome before queueing the next.
   */
  get lastStepSetBuffer(): boolean {
    return this.lastStepRestarted;
  }

  /** Takes the last step off the count: it was skipped on the device (step's skipIf). */
  uncountStep(): void {
    if (this.stepCount > 0) this.stepCount -= 1;
    // A skipped step did not set the buffer: the next one must.
    if (this.lastStepRestarted) this.restartBuffer = true;
  }

  /** Step count, learning rate and momentum buffer (in the arena's layout). BLOCKS for the buffer's read; see readState. */
  state(): SGDState {
    return { stepCount: this.stepCount, lr: this.lr, momentumBuffer: this.buffer ? (this.buffer.toArray() as Float32Array) : null };
  }

  /** state() without blocking: the buffer as it is after the work queued so far. */
  async readState(): Promise<SGDState> {
    const stepCount = this.stepCount, lr = this.lr;
    return { stepCount, lr, momentumBuffer: this.buffer ? ((await this.buffer.data()) as Float32Array) : null };
  }

  /**
   * Restores what state() returned. A state without a momentum buffer (saved with momentum 0)
   * starts the buffer over, as torch.optim.SGD does: the next step sets it to the gradient.
   */
  loadState(s: SGDState): void {
    const where = 'SGD.loadState';
    if (s === null || typeof s !== 'object') fail('SENET_ARGUMENT', where, 'state', 'an object', describe(s));
    const stepCount = checkInt(where, 'stepCount', s.stepCount, 0);
    const lr = checkNumber(where, 'lr', s.lr, 0);
    const buf = s.momentumBuffer;
    if (buf !== null && buf !== undefined && !(buf instanceof Float32Array)) fail('SENET_STATE_DICT', where, 'momentumBuffer', 'a Float32Array or null', describe(buf));
    if (this.buffer && buf && buf.length !== this.buffer.size) {
      fail('SENET_STATE_DICT', where, 'momentumBuffer', `${this.buffer.size} values`, `${buf.length}`);
    }
    if (this.buffer && buf) {
      const bad = buf.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) fail('SENET_STATE_DICT', where, `momentumBuffer[${bad}]`, 'a finite number', String(buf[bad]));
    }
    this.stepCount = stepCount;
    this.lr = lr;
    // Without a buffer (or before any step) the next step sets it to the gradient, as a fresh SGD's.
    this.restartBuffer = !buf || stepCount === 0;
    this.lastStepRestarted = false;
    if (this.buffer) this.buffer.set(buf ?? new Float32Array(this.buffer.size));
  }

  /** Frees the momentum buffer. */
  dispose(): void {
    this.buffer?.dispose();
  }
}
