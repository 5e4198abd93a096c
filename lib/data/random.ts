/**
 * A counter-based random generator: every draw is a hash of (seed, epoch, counter, stream), so a
 * value depends only on what it is for, never on how many draws came before or on which thread
 * made it. That is what keeps batches identical across workers, prefetch depths and resumes.
 */

/** Stream of the epoch shuffle (counter = Fisher–Yates position). */
export const STREAM_SHUFFLE = 0x5348;
/** Stream of the validation split. */
export const STREAM_SPLIT = 0x5350;
/** Streams of the augmentation draws (counter = image index in the dataset). */
export const STREAM_CROP_Y = 1;
/** See STREAM_CROP_Y. */
export const STREAM_CROP_X = 2;
/** See STREAM_CROP_Y. */
export const STREAM_FLIP = 3;

/** murmur3's 32-bit finaliser: a bijection that mixes every input bit into every output bit. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Folds a safe-integer seed (negative or above 2^32 too) into 32 bits. */
export function seedKey(seed: number): number {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  return fmix(fmix(lo ^ 0x243f6a88) ^ hi);
}

/** A uniform 32-bit unsigned integer for (key, epoch, counter, stream); key comes from seedKey. */
export function draw(key: number, epoch: number, counter: number, stream: number): number {
  let h = fmix(key ^ Math.imul(stream, 0x9e3779b1));
  h = fmix((h ^ epoch) + 0x7f4a7c15);
  return fmix((h ^ counter) + 0x6a09e667);
}

/** A seeded Fisher–Yates permutation of 0..n-1; the same (seed, epoch, stream) gives the same one. */
export function permutation(n: number, seed: number, epoch: number, stream = STREAM_SHUFFLE): Uint32Array {
  const key = seedKey(seed);
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    // Exact for n < 2^21: the product stays below 2^53.
    const j = Math.floor((draw(key, epoch, i, stream) * (i + 1)) / 4294967296);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
