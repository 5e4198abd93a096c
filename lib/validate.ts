/**
 * Argument checks for the public API. Every message reads
 * "<where>: <what>: expected ..., received ...".
 */
import { SenetError, type SenetErrorCode } from './errors';

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (typeof value === 'bigint') return `bigint ${value}n`;
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === 'function') return 'a function';
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/** Throws the uniform "expected …, received …" error. */
export function fail(code: SenetErrorCode, where: string, what: string, expected: string, received: string): never {
  throw new SenetError(code, `${where}: ${what}: expected ${expected}, received ${received}`);
}

/** An integer within [min, max]. */
export function checkInt(where: string, what: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    fail('SENET_ARGUMENT', where, what, `an integer ${range}`, describe(value));
  }
  return value;
}

/** A finite number within [min, max]. */
export function checkNumber(where: string, what: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range = min === -Infinity && max === Infinity ? 'a finite number' : max === Infinity ? `a number >= ${min}` : `a number in [${min}, ${max}]`;
    fail('SENET_ARGUMENT', where, what, range, describe(value));
  }
  return value;
}

/** A boolean. */
export function checkBool(where: string, what: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail('SENET_ARGUMENT', where, what, 'a boolean', describe(value));
  return value;
}

/** One of a fixed set of strings. */
export function checkOneOf<S extends string>(where: string, what: string, value: unknown, choices: readonly S[]): S {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    fail('SENET_ARGUMENT', where, what, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, describe(value));
  }
  return value as S;
}

/** A plain options object (or undefined, read as {}). */
/** An optional AbortSignal option. */
export function checkSignal(where: string, value: unknown): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) fail('SENET_ARGUMENT', where, 'signal', 'an AbortSignal', describe(value));
  return value;
}

export function checkOptions<O extends object>(where: string, value: O | undefined): Partial<O> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail('SENET_ARGUMENT', where, 'options', 'an object', describe(value));
  }
  return value;
}

/** A shape: an array of integers >= 0 (or > 0 when `positive`). */
export function checkShape(where: string, what: string, value: unknown, positive = false): number[] {
  if (!Array.isArray(value)) fail('SENET_SHAPE', where, what, 'an array of sizes', describe(value));
  const min = positive ? 1 : 0;
  value.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < min) {
      fail('SENET_SHAPE', where, `${what}[${i}]`, `an integer >= ${min}`, describe(d));
    }
  });
  return value.slice() as number[];
}

/** Writes a shape as "[2, 3, 4]". */
export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * What one option accepts, as a table entry: shared by the API's checks and the command line's,
 * so that a flag and the field it sets have the same range and the same message.
 */
export type ValueRule =
  | { kind: 'int'; min: number; max: number }
  | { kind: 'number'; min: number; max: number; /** min itself is refused */ aboveMin?: boolean }
  | { kind: 'choice'; choices: readonly string[] }
  | { kind: 'path' }
  | { kind: 'bool' };

/** What a rule expects, in words ("an integer in [1, 100]"). */
export function ruleText(rule: ValueRule): string {
  switch (rule.kind) {
    case 'int':
      return rule.max === Number.MAX_SAFE_INTEGER ? `an integer >= ${rule.min}` : `an integer in [${rule.min}, ${rule.max}]`;
    case 'number': {
      const low = rule.aboveMin ? `> ${rule.min}` : `>= ${rule.min}`;
      return rule.max === Infinity ? `a finite number ${low}` : `a number ${low} and <= ${rule.max}`;
    }
    case 'choice':
      return `one of ${rule.choices.map((c) => `'${c}'`).join(', ')}`;
    case 'path':
      return 'a non-empty path';
    case 'bool':
      return 'a boolean';
  }
}

/** Checks `value` against `rule`; a mismatch throws `code` (SENET_ARGUMENT by default) naming `what`. */
export function checkRule(where: string, what: string, value: unknown, rule: ValueRule, code: SenetErrorCode = 'SENET_ARGUMENT'): unknown {
  let ok: boolean;
  switch (rule.kind) {
    case 'int':
      ok = typeof value === 'number' && Number.isInteger(value) && value >= rule.min && value <= rule.max;
      break;
    case 'number':
      ok = typeof value === 'number' && Number.isFinite(value) && (rule.aboveMin ? value > rule.min : value >= rule.min) && value <= rule.max;
      break;
    case 'choice':
      ok = typeof value === 'string' && rule.choices.includes(value);
      break;
    case 'path':
      ok = typeof value === 'string' && value.trim() !== '' && !value.includes('\0');
      break;
    case 'bool':
      ok = typeof value === 'boolean';
      break;
  }
  if (!ok) fail(code, where, what, ruleText(rule), describe(value));
  return value;
}
