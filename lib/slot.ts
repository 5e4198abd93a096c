/**
 * A reusable activation or gradient buffer: allocated for a shape once and reused for every step
 * with that shape (a new batch size, e.g. the last batch of an epoch, reallocates it).
 */
import { empty, type Device, type Tensor } from './tensor';

/** One buffer a module owns. */
export class Slot {
  private tensor: Tensor | undefined;

  constructor(private readonly device: Device) {}

  /** The buffer for `shape`, reallocated only when the shape changes. */
  get(shape: readonly number[], dtype: 'float32' | 'bfloat16' | 'int32' | 'uint8' = 'float32'): Tensor {
    const t = this.tensor;
    if (t && !t.disposed && t.dtype === dtype && t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i])) return t;
    t?.dispose();
    this.tensor = empty(shape, { dtype, device: this.device });
    return this.tensor;
  }

  /** The current buffer, if any. */
  peek(): Tensor | undefined {
    return this.tensor;
  }

  /** Frees the buffer. */
  dispose(): void {
    this.tensor?.dispose();
    this.tensor = undefined;
  }
}
