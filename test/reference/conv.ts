/** Reference 2-D convolution (no bias), channels-last, PyTorch semantics. */

/** Convolution geometry: input (N, H, W, Cin), weight (Cout, kH, kW, Cin/groups). */
export interface ConvGeom {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  groups: number;
}

/** Output size along one axis: floor((size + 2*pad - kernel) / stride) + 1. */
export function convOutSize(size: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}

interface Derived {
  ho: number;
  wo: number;
  cinG: number;
  coutG: number;
}

function derive(g: ConvGeom): Derived {
  if (g.cin % g.groups !== 0 || g.cout % g.groups !== 0) {
    throw new RangeError(`channels (${g.cin}, ${g.cout}) not divisible by groups ${g.groups}`);
  }
  const ho = convOutSize(g.h, g.kh, g.strideH, g.padH);
  const wo = convOutSize(g.w, g.kw, g.strideW, g.padW);
  if (ho <= 0 || wo <= 0) throw new RangeError(`empty conv output ${ho}x${wo}`);
  return { ho, wo, cinG: g.cin / g.groups, coutG: g.cout / g.groups };
}

function checkLen(name: string, a: ArrayLike<number>, n: number): void {
  if (a.length !== n) throw new RangeError(`${name}: expected length ${n}, got ${a.length}`);
}

/** y (N, Ho, Wo, Cout) = conv(x, w) with zero padding and grouped channels. */
export function conv2dForward(x: ArrayLike<number>, w: ArrayLike<number>, g: ConvGeom): Float64Array {
  const { ho, wo, cinG, coutG } = derive(g);
  checkLen('x', x, g.n * g.h * g.w * g.cin);
  checkLen('w', w, g.cout * g.kh * g.kw * cinG);
  const y = new Float64Array(g.n * ho * wo * g.cout);
  for (let n = 0; n < g.n; n++) {
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        const yBase = ((n * ho + oh) * wo + ow) * g.cout;
        for (let o = 0; o < g.cout; o++) {
          const cBase = Math.floor(o / coutG) * cinG;
          let s = 0;
          for (let i = 0; i < g.kh; i++) {
            const ih = oh * g.strideH - g.padH + i;
            if (ih < 0 || ih >= g.h) continue; // zero padding contributes nothing
            for (let j = 0; j < g.kw; j++) {
              const iw = ow * g.strideW - g.padW + j;
              if (iw < 0 || iw >= g.w) continue;
              const xBase = ((n * g.h + ih) * g.w + iw) * g.cin + cBase;
              const wBase = ((o * g.kh + i) * g.kw + j) * cinG;
              for (let c = 0; c < cinG; c++) s += x[xBase + c] * w[wBase + c];
            }
          }
          y[yBase + o] = s;
        }
      }
    }
  }
  return y;
}

/** Gradients of conv2dForward w.r.t. x and w given dy (N, Ho, Wo, Cout). */
export function conv2dBackward(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  g: ConvGeom,
): { dx: Float64Array; dw: Float64Array } {
  const { ho, wo, cinG, coutG } = derive(g);
  checkLen('dy', dy, g.n * ho * wo * g.cout);
  checkLen('x', x, g.n * g.h * g.w * g.cin);
  checkLen('w', w, g.cout * g.kh * g.kw * cinG);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  // Same loop nest as the forward: every (x, w) product term scatters dy into both gradients.
  for (let n = 0; n < g.n; n++) {
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        const yBase = ((n * ho + oh) * wo + ow) * g.cout;
        for (let o = 0; o < g.cout; o++) {
          const d = dy[yBase + o];
          const cBase = Math.floor(o / coutG) * cinG;
          for (let i = 0; i < g.kh; i++) {
            const ih = oh * g.strideH - g.padH + i;
            if (ih < 0 || ih >= g.h) continue;
            for (let j = 0; j < g.kw; j++) {
              const iw = ow * g.strideW - g.padW + j;
              if (iw < 0 || iw >= g.w) continue;
              const xBase = ((n * g.h + ih) * g.w + iw) * g.cin + cBase;
              const wBase = ((o * g.kh + i) * g.kw + j) * cinG;
              for (let c = 0; c < cinG; c++) {
                dx[xBase + c] += d * w[wBase + c];
                dw[wBase + c] += d * x[xBase + c];
              }
            }
          }
        }
      }
    }
  }
  return { dx, dw };
}
