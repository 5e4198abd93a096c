/**
 * Shared by the property-based tests: a fixed seed and case counts that CI can afford (scaled
 * up by scripts/property-long.sh), and a tally of outcomes that fails on any error without a code.
 */

/** The seed of every property; SENET_PROPERTY_SEED changes it (the long script draws one). */
export const SEED = Number(process.env['SENET_PROPERTY_SEED'] ?? 20261130);

/** SENET_PROPERTY_SCALE multiplies every case count (1 in CI). */
const SCALE = Number(process.env['SENET_PROPERTY_SCALE'] ?? 1);

/** `n` cases, scaled. */
export function runs(n: number): number {
  return Math.max(1, Math.round(n * SCALE));
}

/** fast-check's parameters for one property. */
export function params(n: number): { seed: number; numRuns: number; endOnFailure: boolean } {
  // endOnFailure: a counterexample is reported as found, without minutes of shrinking native calls.
  return { seed: SEED, numRuns: runs(n), endOnFailure: process.env['SENET_PROPERTY_SHRINK'] !== '1' };
}

const CODE = /^SENET_[A-Z_]+$/;

/** The code of an error senet may throw: an Error with a SENET_* code, or this throws (the property fails). */
export function codeOf(err: unknown, context: string): string {
  if (!(err instanceof Error)) throw new Error(`${context}: threw a non-Error: ${String(err)}`);
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !CODE.test(code)) throw new Error(`${context}: an Error without a SENET_ code (${String(code)}): ${err.stack ?? err.message}`);
  return code;
}

/** Counts of a property's cases by outcome: accepted, or refused with each code. */
export class Outcomes {
  readonly counts = new Map<string, number>();

  /** One more case with this outcome ('accepted', 'refused SENET_FORMAT', …). */
  add(outcome: string): void {
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + 1);
  }

  /** Records a refusal, after checking that it is an Error with a code. */
  refused(err: unknown, context: string, stage = 'refused'): string {
    const code = codeOf(err, context);
    this.add(`${stage} ${code}`);
    return code;
  }

  /** All cases. */
  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  /** "accepted 120, refused SENET_FORMAT 80" in a stable order. */
  toString(): string {
    return [...this.counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(', ');
  }

  /** As a plain object (for the child processes' JSON). */
  toJSON(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
