import test from 'ava';
import { ops, tensor } from '../../lib';
import { close, disposeAll, random } from '../helpers';
import * as ref from '../reference';

const cases = [
  { name: 'batch 1, 3x5, 12 channels, hidden 8', n: 1, h: 3, w: 5, c: 12, r: 8 },
  { name: 'batch 3, 4x3, 20 channels, hidden 8', n: 3, h: 4, w: 3, c: 20, r: 8 },
  { name: 'batch 2, 7x6, 33 channels, hidden 3', n: 2, h: 7, w: 6, c: 33, r: 3 },
  { name: 'batch 8, 8x8, 16 channels, hidden 4', n: 8, h: 8, w: 8, c: 16, r: 4 },
];

function setup(c: (typeof cases)[number], seed: number) {
  return {
    u: random([c.n, c.h, c.w, c.c], seed, 1),
    w1: random([c.r, c.c], seed + 1, 0.5),
    b1: random([c.r], seed + 2, 0.3),
    w2: random([c.c, c.r], seed + 3, 0.5),
    b2: random([c.c], seed + 4, 0.3),
    sc: random([c.n, c.h, c.w, c.c], seed + 5, 1),
  };
}

for (const c of cases) {
  for (const withShortcut of [false, true]) {
    test(`SE forward and backward match float64 ${withShortcut ? 'fused with residual add + ReLU' : 'alone'}: ${c.name}`, (t) => {
      const s = setup(c, 7);
      const weights = { w1: s.w1.t, b1: s.b1.t, w2: s.w2.t, b2: s.b2.t };
      const hw = c.h * c.w;
      const shortcut = withShortcut ? s.sc : undefined;
      const fwd = ops.seForward(s.u.t, weights, shortcut?.t);
      const want = ref.seForward(s.u.v, c.n, hw, c.c, s.w1.v, s.b1.v, s.w2.v, s.b2.v, shortcut?.v);
      close(t, fwd.y, want.y, 'y');
      close(t, fwd.pooled, want.pooled, 'pooled');
      close(t, fwd.hidden, want.hidden, 'hidden');
      close(t, fwd.gate, want.gate, 'gate');

      const dy = random(fwd.y.shape, 77, 1);
      const grads = ops.seBackward(dy.t, { u: s.u.t, pooled: fwd.pooled, hidden: fwd.hidden, gate: fwd.gate, residual: withShortcut, y: withShortcut ? fwd.y : undefined }, weights);
      const g = ref.seBackward(dy.v, s.u.v, c.n, hw, c.c, s.w1.v, s.b1.v, s.w2.v, s.b2.v, shortcut?.v);
      close(t, grads.du, g.du, 'du');
      if (withShortcut) close(t, grads.dshortcut!, g.dshortcut!, 'dshortcut');
      else t.is(grads.dshortcut, null);
      close(t, grads.dw1, g.dw1, 'dw1');
      close(t, grads.db1, g.db1, 'db1');
      close(t, grads.dw2, g.dw2, 'dw2');
      close(t, grads.db2, g.db2, 'db2');
      disposeAll(s, fwd, dy, grads);
    });
  }
}

test('SE backward agrees with finite differences of the float64 forward', (t) => {
  const c = { n: 2, h: 2, w: 3, c: 5, r: 3 };
  const s = setup({ ...c, name: '' }, 17);
  const hw = c.h * c.w;
  const r = ref.randomArray(c.n * hw * c.c, 18, 1);
  const loss = (u: Float64Array, w1: Float64Array, b1: Float64Array, w2: Float64Array, b2: Float64Array, sc: Float64Array) =>
    ref.dot(ref.seForward(u, c.n, hw, c.c, w1, b1, w2, b2, sc).y, r);
  const weights = { w1: s.w1.t, b1: s.b1.t, w2: s.w2.t, b2: s.b2.t };
  const fwd = ops.seForward(s.u.t, weights, s.sc.t);
  const dy = tensor(Float32Array.from(r), fwd.y.shape);
  const g = ops.seBackward(dy, { u: s.u.t, pooled: fwd.pooled, hidden: fwd.hidden, gate: fwd.gate, residual: true, y: fwd.y }, weights);
  const [u, w1, b1, w2, b2, sc] = [s.u.v, s.w1.v, s.b1.v, s.w2.v, s.b2.v, s.sc.v].map((v) => Float64Array.from(v)) as Float64Array[];
  close(t, g.du, ref.numericGradient((v) => loss(v, w1!, b1!, w2!, b2!, sc!), u!), 'du', 1e-3);
  close(t, g.dshortcut!, ref.numericGradient((v) => loss(u!, w1!, b1!, w2!, b2!, v), sc!), 'dshortcut', 1e-3);
  close(t, g.dw1, ref.numericGradient((v) => loss(u!, v, b1!, w2!, b2!, sc!), w1!), 'dw1', 1e-3);
  close(t, g.db1, ref.numericGradient((v) => loss(u!, w1!, v, w2!, b2!, sc!), b1!), 'db1', 1e-3);
  close(t, g.dw2, ref.numericGradient((v) => loss(u!, w1!, b1!, v, b2!, sc!), w2!), 'dw2', 1e-3);
  close(t, g.db2, ref.numericGradient((v) => loss(u!, w1!, b1!, w2!, v, sc!), b2!), 'db2', 1e-3);
  disposeAll(s, fwd, dy, g);
});
