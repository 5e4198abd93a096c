import test from 'ava';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { BENCH_FLAGS, EVAL_FLAGS, TRAIN_FLAGS } from '../../lib/cli_flags';
import { parseFlags, type FlagSpec } from '../../lib/flags';
import { checkRunOptions, RUN_OPTION_RULES, type RunOptionKey } from '../../lib/train/run_options';
import { checkRule } from '../../lib/validate';
import { tempDir } from '../data/helpers';
import { Outcomes, params, runs } from './support';

// Generated command lines: each is parsed into values every one of which its rule (and, for
// senet train, the API's own check) accepts, or refused as a usage error naming a flag. A sample
// runs the real command in a child process: it exits 0, 1 or 2 with a coded message, by a signal
// never, and within its time.

const cli = path.join(__dirname, '..', '..', 'lib', 'cli.js');

/** Values a user might type, or mistype. */
const rawValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('', ' ', '0', '-1', '1', '2', '64', '0.5', '1e3', '1e9', '0x10', 'NaN', 'Infinity', '-0', '1.5', '9007199254740993', '1_000', 'auto', 'cpu', 'cosine', 'mnist', 'none'),
  fc.integer({ min: -10, max: 100_000 }).map(String),
  fc.double({ noNaN: false }).map(String),
);

/** A value the flag's rule accepts (written as a user would). */
function validValue(spec: FlagSpec): fc.Arbitrary<string> {
  const r = spec.rule;
  switch (r.kind) {
    case 'int':
      return fc.integer({ min: r.min, max: Math.min(r.max, r.min + 1000) }).map(String);
    case 'number':
      return fc.double({ min: r.min, max: Math.min(r.max, r.min + 10), noNaN: true }).filter((x) => !r.aboveMin || x > r.min).map(String);
    case 'choice':
      return fc.constantFrom(...r.choices);
    default:
      return fc.constantFrom('x', 'some/dir', '/nonexistent/senet-prop');
  }
}

/** A command line of known flags (as --flag value or --flag=value), unknown ones and stray words. */
function argv(specs: readonly FlagSpec[]) {
  const flagValue = fc.constantFrom(...specs).chain((s) => fc.tuple(fc.constant(s), fc.oneof(rawValue, validValue(s), validValue(s)), fc.boolean()));
  const token = fc.oneof(
    { weight: 8, arbitrary: flagValue.map(([s, v, joined]) => (s.rule.kind === 'bool' ? [s.flag] : joined ? [`${s.flag}=${v}`] : [s.flag, v])) },
    { weight: 1, arbitrary: fc.constantFrom(['--bogus'], ['extra'], ['--'], ['-x'], ['--json'], ['--lr']) },
  );
  return fc.array(token, { maxLength: 5 }).map((ts) => ts.flat());
}

function checkParsed(where: string, args: string[], specs: readonly FlagSpec[], outcomes: Outcomes): Record<string, unknown> | undefined {
  let values: Record<string, unknown>;
  try {
    values = parseFlags(where, args, specs);
  } catch (err) {
    const code = outcomes.refused(err, `${where} ${JSON.stringify(args)}`);
    if (code !== 'SENET_ARGUMENT') throw new Error(`${JSON.stringify(args)}: a usage error must be SENET_ARGUMENT, was ${code}`);
    return undefined;
  }
  // Every value parsed follows its flag's rule.
  for (const s of specs) {
    const v = values[s.flag.slice(2)];
    if (v !== undefined) checkRule(where, s.flag, v, s.rule);
  }
  outcomes.add('accepted');
  return values;
}

test('senet train, eval and bench flags: parsed values follow their rules (and the API accepts them), or a usage error', (t) => {
  const outcomes = new Outcomes();
  fc.assert(
    fc.property(argv(TRAIN_FLAGS), (args) => {
      const values = checkParsed('senet train', args, TRAIN_FLAGS, outcomes);
      if (!values) return;
      // What the command passes on, the API takes as it is: one table, one range.
      const options: Record<string, unknown> = {};
      for (const [key, { flag }] of Object.entries(RUN_OPTION_RULES) as [RunOptionKey, { flag: string }][]) {
        const v = values[flag.slice(2)];
        if (v !== undefined && !(key === 'limit' && v === 0)) options[key] = v;
      }
      checkRunOptions('runTraining', options);
    }),
    params(300),
  );
  for (const specs of [EVAL_FLAGS, BENCH_FLAGS]) fc.assert(fc.property(argv(specs), (args) => void checkParsed('senet', args, specs, outcomes)), params(100));
  t.log(`flags: ${outcomes}`);
  t.true(outcomes.total >= 500);
});

test('the senet command on generated flags exits 0, 1 or 2 with a coded message, never by a signal, in time', (t) => {
  const cwd = tempDir('senet-prop-cli-');
  const outcomes = new Outcomes();
  const command = fc.constantFrom(['train', TRAIN_FLAGS] as const, ['eval', EVAL_FLAGS] as const);
  fc.assert(
    fc.property(command.chain(([name, specs]) => argv(specs).map((a) => [name, a] as const)), ([name, args]) => {
      // A dataset folder that does not exist: a run that gets past its flags stops at the data.
      const full = [name, ...args, ...(name === 'train' ? ['--data', '/nonexistent/senet-prop'] : [])];
      const r = spawnSync(process.execPath, [cli, ...full], { encoding: 'utf8', timeout: 60_000, cwd });
      const context = `senet ${JSON.stringify(full)}: exit ${r.status} signal ${r.signal}: ${r.stderr}`;
      if (r.signal !== null || r.error) throw new Error(`${context}: killed or hung`);
      if (r.status === 0) {
        outcomes.add('exit 0');
        return;
      }
      const code = /\[(SENET_[A-Z_]+)\]\n$/.exec(r.stderr)?.[1];
      if (!code || (r.status !== 1 && r.status !== 2) || (r.status === 2) !== (code === 'SENET_ARGUMENT')) throw new Error(`${context}: not a coded exit`);
      outcomes.add(`exit ${r.status} ${code}`);
    }),
    params(25),
  );
  t.log(`senet command: ${outcomes}`);
  t.is(outcomes.total, runs(25));
});
