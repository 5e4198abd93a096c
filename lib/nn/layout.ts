/**
 * Conversions between PyTorch's layouts and senet's channels-last ones, on host arrays.
 */

/** Conv weight (O, I, kH, kW) → (O, kH, kW, I); a 1×1 kernel's layouts are the same (a copy). */
export function oihwToOhwi(src: Float32Array, o: number, i: number, kh: number, kw: number): Float32Array {
  if (kh === 1 && kw === 1) return src.slice();
  const dst = new Float32Array(src.length);
  for (let a = 0; a < o; a++)
    for (let c = 0; c < i; c++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) dst[((a * kh + y) * kw + x) * i + c] = src[((a * i + c) * kh + y) * kw + x]!;
  return dst;
}

/** Conv weight (O, kH, kW, I) → (O, I, kH, kW); a 1×1 kernel's layouts are the same (a copy). */
export function ohwiToOihw(src: Float32Array, o: number, kh: number, kw: number, i: number): Float32Array {
  if (kh === 1 && kw === 1) return src.slice();
  const dst = new Float32Array(src.length);
  for (let a = 0; a < o; a++)
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let c = 0; c < i; c++) dst[((a * i + c) * kh + y) * kw + x] = src[((a * kh + y) * kw + x) * i + c]!;
  return dst;
}

/** Images (N, C, H, W) → (N, H, W, C). */
export function nchwToNhwc(src: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const dst = new Float32Array(src.length);
  const hw = h * w;
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++) {
      const s = (b * c + ch) * hw;
      for (let p = 0; p < hw; p++) dst[(b * hw + p) * c + ch] = src[s + p]!;
    }
  return dst;
}
