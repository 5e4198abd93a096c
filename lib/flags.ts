/**
 * Command-line flags: each declared once with the rule its value must follow, parsed strictly.
 * A value that is empty, does not parse, or is out of range is a usage error (SENET_ARGUMENT,
 * which the command turns into exit code 2) naming the flag: `--lr=` is not 0, `--epochs 1x` is
 * not 1, and `--out=` is not the current folder.
 */
import { parseArgs } from 'node:util';
import { SenetError } from './errors';
import { checkRule, describe, fail, type ValueRule } from './validate';

/** One flag: its name (with the dashes) and what its value must be. */
export interface FlagSpec {
  flag: string;
  rule: ValueRule;
}

// Plain decimal numbers only: Number() would also take '', ' ', '0x10', '1_0' is refused but 'Infinity' is not.
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** The value of `flag` given as `raw`, parsed and checked against `rule`. */
export function parseFlagValue(where: string, flag: string, raw: string | boolean, rule: ValueRule): string | number | boolean {
  if (rule.kind === 'bool') return checkRule(where, flag, raw, rule) as boolean;
  if (typeof raw !== 'string') fail('SENET_ARGUMENT', where, flag, 'a value', describe(raw));
  if (rule.kind === 'int' || rule.kind === 'number') {
    if (!DECIMAL.test(raw)) fail('SENET_ARGUMENT', where, flag, rule.kind === 'int' ? 'an integer' : 'a number', describe(raw));
    return checkRule(where, flag, Number(raw), rule) as number;
  }
  return checkRule(where, flag, raw, rule) as string;
}

/**
 * Parses `argv` against `specs` (plus --help and --json): unknown flags, positional arguments
 * and values that break their rules are usage errors. Returns the values by flag name (without
 * the dashes), undefined for the flags not given.
 */
export function parseFlags(where: string, argv: readonly string[], specs: readonly FlagSpec[]): Record<string, string | number | boolean | undefined> {
  return parseFlagsAndArguments(where, argv, specs, false).values;
}

/** As parseFlags, with positional arguments allowed when `positionals` (returned as `rest`). */
export function parseFlagsAndArguments(
  where: string,
  argv: readonly string[],
  specs: readonly FlagSpec[],
  positionals: boolean,
): { values: Record<string, string | number | boolean | undefined>; rest: string[] } {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' }, json: { type: 'boolean' } };
  for (const s of specs) options[s.flag.replace(/^--/, '')] = { type: s.rule.kind === 'bool' ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  let rest: string[];
  try {
    const parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: positionals });
    values = parsed.values as Record<string, string | boolean | undefined>;
    rest = parsed.positionals;
  } catch (err) {
    throw new SenetError('SENET_ARGUMENT', `${where}: ${(err as Error).message}`);
  }
  const out: Record<string, string | number | boolean | undefined> = { help: values['help'], json: values['json'] };
  if (values['help']) return { values: out, rest };
  for (const s of specs) {
    const name = s.flag.replace(/^--/, '');
    const raw = values[name];
    out[name] = raw === undefined ? undefined : parseFlagValue(where, s.flag, raw, s.rule);
  }
  return { values: out, rest };
}
