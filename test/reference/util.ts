/** Shared helpers for the float64 reference implementations and their tests. */

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) {
    throw new RangeError(`length mismatch: ${a.length} vs ${b.length}`);
  }
}

/** max_i |a_i - e_i| / max(max_i |e_i|, 1e-30): error relative to the largest expected magnitude. */
export function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  checkSameLength(actual, expected);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    // NaN must not be swallowed by Math.max-style comparisons.
    if (Number.isNaN(d)) return Number.NaN;
    if (d > maxDiff) maxDiff = d;
    const e = Math.abs(expected[i]);
    if (e > maxRef) maxRef = e;
  }
  return maxDiff / Math.max(maxRef, 1e-30);
}

/** ||a - e||_2 / max(||e||_2, 1e-30). */
export function relL2Error(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  checkSameLength(actual, expected);
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = actual[i] - expected[i];
    num += d * d;
    den += expected[i] * expected[i];
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

/** Central-difference gradient of f at x, one element at a time; x is restored afterwards. */
export function numericGradient(
  f: (x: Float64Array) => number,
  x: Float64Array,
  h = 1e-6,
): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const orig = x[i];
    x[i] = orig + h;
    const fp = f(x);
    x[i] = orig - h;
    const fm = f(x);
    x[i] = orig;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** Deterministic PRNG (mulberry32) returning uniform numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [-scale, scale), reproducible from seed. */
export function randomArray(n: number, seed: number, scale = 1): Float64Array {
  const rnd = seededRandom(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rnd() - 1) * scale;
  return out;
}

/** Inner product, accumulated in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameLength(a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
