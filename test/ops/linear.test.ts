import test from 'ava';
import { ops } from '../../lib';
import { close, disposeAll, random } from '../helpers';
import * as ref from '../reference';

for (const c of [
  { name: 'batch 1, 7 -> 5, bias', n: 1, i: 7, o: 5, bias: true },
  { name: 'batch 3, 10 -> 4, no bias', n: 3, i: 10, o: 4, bias: false },
  { name: 'batch 5, 33 -> 10, bias', n: 5, i: 33, o: 10, bias: true },
]) {
  test(`linear forward and backward match float64: ${c.name}`, (t) => {
    const x = random([c.n, c.i], 1);
    const w = random([c.o, c.i], 2, 0.5);
    const b = c.bias ? random([c.o], 3, 0.5) : null;
    const y = ops.linearForward(x.t, w.t, b?.t);
    close(t, y, ref.linearForward(x.v, w.v, b?.v ?? null, c.n, c.i, c.o), 'y');
    const dy = random([c.n, c.o], 4);
    const g = ops.linearBackward(dy.t, x.t, w.t, { bias: c.bias });
    const want = ref.linearBackward(dy.v, x.v, w.v, c.n, c.i, c.o);
    close(t, g.dx!, want.dx, 'dx');
    close(t, g.dw, want.dw, 'dw');
    if (c.bias) close(t, g.db!, want.db, 'db');
    else t.is(g.db, null);
    const fd = ref.numericGradient((v) => ref.dot(ref.linearForward(x.v, v, b?.v ?? null, c.n, c.i, c.o), dy.v), Float64Array.from(w.v));
    close(t, g.dw, fd, 'dw vs finite differences', 1e-3);
    disposeAll(x, w, b, y, dy, g);
  });
}
