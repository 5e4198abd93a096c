/**
 * Parameters in one flat arena, gradients in a second of the same layout: each named parameter
 * is a view at the same offset in both. SGD then runs once over the whole arena, a gradient
 * all-reduce would be one call, and a checkpoint is one copy. In mixed precision a third arena of
 * the same layout holds the bfloat16 copy of the values that convolutions read.
 */
import { binding } from './binding';
import { checkShape, describe, fail } from './validate';
import { zeros, type Device, type Tensor } from './tensor';

/** One parameter's place in the arenas. */
export interface ArenaEntry {
  /** The parameter's name, e.g. `layer1.0.conv2.weight`. */
  readonly name: string;
  /** Its shape in senet's layout. */
  readonly shape: readonly number[];
  /** Offset of its first element in both arenas. */
  readonly offset: number;
  /** The value: a view into `ParameterArena.values`. */
  readonly value: Tensor<'float32'>;
  /** The gradient: a view into `ParameterArena.grads`. */
  readonly grad: Tensor<'float32'>;
  /** The bfloat16 copy of the value (a view into `ParameterArena.copies`), or null without one. */
  readonly copy: Tensor<'bfloat16'> | null;
}

/** What to place in an arena. */
export interface ArenaSpec {
  name: string;
  shape: readonly number[];
}

// Entries start on 16-float (64-byte) boundaries so that every view is aligned for vector loads.
const ALIGN = 16;

/** Two float32 arenas (values, gradients) holding named parameters at identical offsets. */
export class ParameterArena {
  /** Every parameter's value, one flat tensor. */
  readonly values: Tensor<'float32'>;
  /** Every parameter's gradient, one flat tensor with the same layout. */
  readonly grads: Tensor<'float32'>;
  /**
   * The values rounded to bfloat16, same layout (mixed precision), or null. SGD rewrites it with
   * every step; after writing `values` any other way, call syncCopies().
   */
  readonly copies: Tensor<'bfloat16'> | null;
  /** The entries in the order given. */
  readonly entries: readonly ArenaEntry[];
  private readonly byName: Map<string, ArenaEntry>;

  private constructor(values: Tensor<'float32'>, grads: Tensor<'float32'>, copies: Tensor<'bfloat16'> | null, entries: ArenaEntry[]) {
    this.values = values;
    this.grads = grads;
    this.copies = copies;
    this.entries = entries;
    this.byName = new Map(entries.map((e) => [e.name, e]));
  }

  /** Lays out the parameters and allocates both arenas, zero-filled. */
  /** `bf16Copies`: also allocate the bfloat16 copy of the values (default false). */
  static create(specs: readonly ArenaSpec[], options?: { device?: Device; bf16Copies?: boolean }): ParameterArena {
    if (!Array.isArray(specs)) fail('SENET_ARGUMENT', 'ParameterArena.create', 'specs', 'an array of { name, shape }', describe(specs));
    const seen = new Set<string>();
    const layout: { name: string; shape: number[]; offset: number; size: number }[] = [];
    let total = 0;
    specs.forEach((spec, i) => {
      if (typeof spec?.name !== 'string' || spec.name === '') {
        fail('SENET_ARGUMENT', 'ParameterArena.create', `specs[${i}].name`, 'a non-empty string', describe(spec?.name));
      }
      if (seen.has(spec.name)) fail('SENET_ARGUMENT', 'ParameterArena.create', `specs[${i}].name`, 'a unique name', `'${spec.name}' again`);
      seen.add(spec.name);
      const shape = checkShape('ParameterArena.create', `specs[${i}].shape`, spec.shape, true);
      const size = shape.reduce((a, b) => a * b, 1);
      layout.push({ name: spec.name, shape, offset: total, size });
      total += Math.ceil(size / ALIGN) * ALIGN;
    });
    // Zeros: the padding between entries is never written by an op, so SGD over it stays a no-op.
    const values = zeros<'float32'>([total], { device: options?.device });
    let grads: Tensor<'float32'> | undefined;
    let copies: Tensor<'bfloat16'> | null = null;
    try {
      const g = (grads = zeros<'float32'>([total], { device: options?.device }));
      const c = (copies = options?.bf16Copies ? zeros<'bfloat16'>([total], { dtype: 'bfloat16', device: options?.device }) : null);
      const entries = layout.map((l) => ({
        name: l.name,
        shape: Object.freeze(l.shape),
        offset: l.offset,
        value: values.view(l.offset, l.shape),
        grad: g.view(l.offset, l.shape),
        copy: c ? c.view(l.offset, l.shape) : null,
      }));
      return new ParameterArena(values, g, c, entries);
    } catch (err) {
      values.dispose();
      grads?.dispose();
      copies?.dispose();
      throw err;
    }
  }

  /** The entry of a parameter, or an error naming the unknown name. */
  get(name: string): ArenaEntry {
    const e = this.byName.get(name);
    if (!e) fail('SENET_ARGUMENT', 'ParameterArena.get', 'name', 'the name of a parameter in this arena', describe(name));
    return e;
  }

  /** Number of float32 elements in each arena, padding included. */
  get length(): number {
    return this.values.size;
  }

  /** Rewrites the bfloat16 copies from the values (queued; a no-op without copies). */
  syncCopies(): void {
    if (this.copies) binding.cast({ x: this.values.native, y: this.copies.native, params: { dtype: 'bfloat16' } });
  }

  /** Frees the arenas; every view then reports disposed. */
  dispose(): void {
    this.values.dispose();
    this.grads.dispose();
    this.copies?.dispose();
  }
}
