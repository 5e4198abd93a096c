import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BENCH_FLAGS, EVAL_FLAGS, EXPORT_FLAGS, PREDICT_FLAGS, TRAIN_FLAGS } from '../lib/cli_flags';

// The README's usage block and each command's --help list exactly the flags the command accepts:
// they drifted apart before (--workers, eval --batch-size, bench --classes … were missing).

const root = path.join(__dirname, '..', '..');
const cli = path.join(__dirname, '..', 'lib', 'cli.js');
const COMMANDS = { train: TRAIN_FLAGS, eval: EVAL_FLAGS, predict: PREDICT_FLAGS, export: EXPORT_FLAGS, bench: BENCH_FLAGS, info: [] };

/** The README's usage block, command by command (a line starting `senet X` and its continuations). */
function readmeUsage(): Map<string, string> {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const block = /## The command\n\n```\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const usage = new Map<string, string>();
  let current = '';
  for (const line of block.split('\n')) {
    const m = /^senet (\w+)/.exec(line);
    if (m) current = m[1]!;
    usage.set(current, `${usage.get(current) ?? ''} ${line}`);
  }
  return usage;
}

const flagsIn = (text: string) => new Set([...text.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]));

test('README usage block and --help list every flag each command accepts, and no other', (t) => {
  const usage = readmeUsage();
  for (const [command, specs] of Object.entries(COMMANDS)) {
    const accepted = new Set([...specs.map((s) => s.flag), '--json']);
    const help = spawnSync(process.execPath, [cli, command, '--help'], { encoding: 'utf8' }).stdout;
    const inHelp = flagsIn(help);
    const inReadme = flagsIn(usage.get(command) ?? '');
    for (const flag of accepted) {
      t.true(inHelp.has(flag), `senet ${command} --help lists ${flag}`);
      t.true(inReadme.has(flag), `README's usage of senet ${command} lists ${flag}`);
    }
    for (const flag of inReadme) t.true(accepted.has(flag), `README's senet ${command} ${flag} is accepted`);
    // --help may mention other commands' flags in prose (--resume …), but only as accepted ones.
    for (const flag of inHelp) t.true(accepted.has(flag) || flag === '--help', `senet ${command} --help: ${flag} is accepted`);
  }
});
