/** Reference pooling over channels-last x (N, H, W, C). */

import { convOutSize } from './conv';

/** Max-pool geometry. */
export interface PoolGeom {
  n: number;
  h: number;
  w: number;
  c: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
}

/**
 * Max pool. Padded positions are skipped rather than treated as values, so they never win;
 * argmax is the flat index into x of the first maximum in window scan order (rows, then columns),
 * or -1 (with y = -Infinity) for a window that covers only padding.
 */
export function maxPoolForward(
  x: ArrayLike<number>,
  g: PoolGeom,
): { y: Float64Array; argmax: Int32Array; ho: number; wo: number } {
  if (x.length !== g.n * g.h * g.w * g.c) {
    throw new RangeError(`x: expected length ${g.n * g.h * g.w * g.c}, got ${x.length}`);
  }
  const ho = convOutSize(g.h, g.kh, g.strideH, g.padH);
  const wo = convOutSize(g.w, g.kw, g.strideW, g.padW);
  const y = new Float64Array(g.n * ho * wo * g.c);
  const argmax = new Int32Array(y.length);
  for (let n = 0; n < g.n; n++) {
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        for (let c = 0; c < g.c; c++) {
          let best = -Infinity;
          let bestIdx = -1;
          for (let i = 0; i < g.kh; i++) {
            const ih = oh * g.strideH - g.padH + i;
            if (ih < 0 || ih >= g.h) continue;
            for (let j = 0; j < g.kw; j++) {
              const iw = ow * g.strideW - g.padW + j;
              if (iw < 0 || iw >= g.w) continue;
              const idx = ((n * g.h + ih) * g.w + iw) * g.c + c;
              // Strict '>' keeps the first maximum; the bestIdx check admits a leading -Infinity.
              if (x[idx] > best || bestIdx < 0) {
                best = x[idx];
                bestIdx = idx;
              }
            }
          }
          const o = ((n * ho + oh) * wo + ow) * g.c + c;
          y[o] = best;
          argmax[o] = bestIdx;
        }
      }
    }
  }
  return { y, argmax, ho, wo };
}

/** Max-pool backward: each dy goes to its window's argmax, accumulating where windows overlap. */
export function maxPoolBackward(dy: ArrayLike<number>, x: ArrayLike<number>, g: PoolGeom): Float64Array {
  const { argmax } = maxPoolForward(x, g);
  if (dy.length !== argmax.length) throw new RangeError(`dy: expected length ${argmax.length}, got ${dy.length}`);
  const dx = new Float64Array(x.length);
  for (let o = 0; o < argmax.length; o++) {
    if (argmax[o] >= 0) dx[argmax[o]] += dy[o];
  }
  return dx;
}

/** Global average pool: x (N, HW, C) to (N, C). */
export function globalAvgPoolForward(x: ArrayLike<number>, n: number, hw: number, c: number): Float64Array {
  if (x.length !== n * hw * c) throw new RangeError(`x: expected length ${n * hw * c}, got ${x.length}`);
  const y = new Float64Array(n * c);
  for (let b = 0; b < n; b++) {
    for (let q = 0; q < hw; q++) {
      for (let k = 0; k < c; k++) y[b * c + k] += x[(b * hw + q) * c + k];
    }
    for (let k = 0; k < c; k++) y[b * c + k] /= hw;
  }
  return y;
}

/** Global average pool backward: dy (N, C) spread evenly to (N, HW, C). */
export function globalAvgPoolBackward(dy: ArrayLike<number>, n: number, hw: number, c: number): Float64Array {
  if (dy.length !== n * c) throw new RangeError(`dy: expected length ${n * c}, got ${dy.length}`);
  const dx = new Float64Array(n * hw * c);
  for (let b = 0; b < n; b++) {
    for (let q = 0; q < hw; q++) {
      for (let k = 0; k < c; k++) dx[(b * hw + q) * c + k] = dy[b * c + k] / hw;
    }
  }
  return dx;
}
