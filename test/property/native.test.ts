import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

// Shapes, views, ops on them, and model configs, generated: run in a child process
// (native_child.ts), so that a crash shows as a signal and a hang as a timeout. Every case is
// accepted and works when used, or is refused with an Error carrying a SENET_ code.

test('tensors, views, ops and model configs: a working result or a coded error, never a signal or a hang', (t) => {
  const child = path.join(__dirname, 'native_child.js');
  // About 5 s in CI; the long script scales the cases and this limit with them.
  const limit = 240_000 * Math.max(1, Number(process.env['SENET_PROPERTY_SCALE'] ?? 1));
  const r = spawnSync(process.execPath, [child], { encoding: 'utf8', timeout: limit, env: { ...process.env } });
  t.is(r.signal, null, `killed by ${r.signal} (a crash, or the ${limit / 1000} s timeout): ${r.stderr}`);
  const last = r.stdout.trim().split('\n').pop() ?? '{}';
  const result = JSON.parse(last) as Record<string, Record<string, number>> & { failure?: string };
  t.is(result.failure, undefined, result.failure);
  t.is(r.status, 0, r.stderr);
  for (const [property, outcomes] of Object.entries(result)) {
    const total = Object.values(outcomes).reduce((a, b) => a + b, 0);
    t.log(`${property} (${total} cases): ${Object.entries(outcomes).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
    t.true(total > 0, property);
  }
});
