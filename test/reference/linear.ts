/** Reference fully connected layer: y = x w^T + b with x (N, In), w (Out, In), b (Out). */

/** y (N, Out) = x w^T + b; b may be null for no bias. */
export function linearForward(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number> | null,
  n: number,
  inF: number,
  outF: number,
): Float64Array {
  if (x.length !== n * inF) throw new RangeError(`x: expected length ${n * inF}, got ${x.length}`);
  if (w.length !== outF * inF) throw new RangeError(`w: expected length ${outF * inF}, got ${w.length}`);
  if (b !== null && b.length !== outF) throw new RangeError(`b: expected length ${outF}, got ${b.length}`);
  const y = new Float64Array(n * outF);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < outF; o++) {
      let s = b === null ? 0 : b[o];
      for (let i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
      y[r * outF + o] = s;
    }
  }
  return y;
}

/** Gradients: dx = dy w, dw = dy^T x, db = column sums of dy. */
export function linearBackward(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  n: number,
  inF: number,
  outF: number,
): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  if (dy.length !== n * outF) throw new RangeError(`dy: expected length ${n * outF}, got ${dy.length}`);
  if (x.length !== n * inF) throw new RangeError(`x: expected length ${n * inF}, got ${x.length}`);
  if (w.length !== outF * inF) throw new RangeError(`w: expected length ${outF * inF}, got ${w.length}`);
  const dx = new Float64Array(n * inF);
  const dw = new Float64Array(outF * inF);
  const db = new Float64Array(outF);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < outF; o++) {
      const d = dy[r * outF + o];
      db[o] += d;
      for (let i = 0; i < inF; i++) {
        dx[r * inF + i] += d * w[o * inF + i];
        dw[o * inF + i] += d * x[r * inF + i];
      }
    }
  }
  return { dx, dw, db };
}
