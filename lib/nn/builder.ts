/**
 * Collects a network's parameters and buffers (with their timm names, senet shapes and
 * initialisers) while modules are constructed, then places them: parameters in a
 * ParameterArena (values + gradients), batch-norm running statistics in a buffer arena.
 */
import { ParameterArena } from '../arena';
import type { Precision } from '../precision';
import type { Device, Tensor } from '../tensor';
import { GradientPool } from './gradient_pool';

/** How a parameter starts. */
export type Init =
  | { kind: 'kaimingNormal' } // N(0, 2 / fan_out), timm's conv init
  | { kind: 'uniform'; bound: number } // U(-bound, bound), PyTorch's default for Linear and conv bias
  | { kind: 'constant'; value: number };

/** A trainable parameter: its value and gradient are views into the arenas once placed. */
export class Param {
  value!: Tensor<'float32'>;
  grad!: Tensor<'float32'>;
  /** The bfloat16 copy convolutions read in mixed precision, else null. */
  copy: Tensor<'bfloat16'> | null = null;
  constructor(
    readonly name: string,
    readonly shape: readonly number[],
    readonly init: Init,
  ) {}
}

/** A non-trainable float buffer (batch norm running mean / variance). */
export class Buffer {
  value!: Tensor<'float32'>;
  constructor(
    readonly name: string,
    readonly shape: readonly number[],
    readonly initValue: number,
  ) {}
}

/** Hands out named parameters and buffers during construction. */
export class Builder {
  readonly params: Param[] = [];
  readonly buffers: Buffer[] = [];
  /** The gradient buffers the layers' backward passes share. */
  readonly gradients: GradientPool;

  /**
   * @param releaseActivations free each layer's activations once its backward is queued, and the
   * gradient buffers after each backward pass (see SEResNeXt's constructor).
   */
  constructor(
    readonly device: Device,
    readonly precision: Precision = 'fp32',
    readonly releaseActivations = false,
  ) {
    this.gradients = new GradientPool(device, { releaseAfterPass: releaseActivations });
  }

  /** The element type of activations: bfloat16 in mixed precision, else float32. */
  get activation(): 'float32' | 'bfloat16' {
    return this.precision === 'bf16' ? 'bfloat16' : 'float32';
  }

  param(name: string, shape: readonly number[], init: Init): Param {
    const p = new Param(name, shape, init);
    this.params.push(p);
    return p;
  }

  buffer(name: string, shape: readonly number[], initValue: number): Buffer {
    const b = new Buffer(name, shape, initValue);
    this.buffers.push(b);
    return b;
  }

  /** Allocates both arenas and points every Param and Buffer at its views. */
  place(): { params: ParameterArena; buffers: ParameterArena } {
    const params = ParameterArena.create(this.params.map((p) => ({ name: p.name, shape: p.shape })), { device: this.device, bf16Copies: this.precision === 'bf16' });
    let buffers: ParameterArena | undefined;
    try {
      // The buffer arena's gradient half is unused; one arena type keeps the layout code single.
      buffers = ParameterArena.create(this.buffers.map((b) => ({ name: b.name, shape: b.shape })), { device: this.device });
    } catch (err) {
      params.dispose();
      throw err;
    }
    for (const p of this.params) {
      const e = params.get(p.name);
      p.value = e.value;
      p.grad = e.grad;
      p.copy = e.copy;
    }
    for (const b of this.buffers) b.value = buffers.get(b.name).value;
    return { params, buffers };
  }
}
