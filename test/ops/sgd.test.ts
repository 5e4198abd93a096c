import test from 'ava';
import { ops } from '../../lib';
import { close, disposeAll, random } from '../helpers';
import * as ref from '../reference';

const variants = [
  { name: 'plain', lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
  { name: 'momentum 0.9 with weight decay', lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 1e-4, nesterov: false },
  { name: 'momentum with dampening 0.5', lr: 0.1, momentum: 0.8, dampening: 0.5, weightDecay: 0, nesterov: false },
  { name: 'nesterov with weight decay', lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 5e-4, nesterov: true },
];

for (const v of variants) {
  test(`SGD matches torch.optim.SGD over three steps: ${v.name}`, (t) => {
    const n = 1001; // odd, not a multiple of any vector width
    const p = random([n], 1);
    const buf = v.momentum ? random([n], 9) : null; // garbage: the first step must overwrite it
    let want: { param: Float64Array; buf: Float64Array | null } = { param: Float64Array.from(p.v), buf: null };
    for (let step = 0; step < 3; step++) {
      const g = random([n], 10 + step);
      ops.sgdStep(p.t, g.t, buf?.t ?? null, { ...v, firstStep: step === 0 });
      want = ref.sgdStep(want.param, g.v, want.buf, { ...v, firstStep: step === 0 });
      disposeAll(g);
    }
    close(t, p.t, want.param, 'param');
    if (buf) close(t, buf.t, want.buf!, 'momentum buffer');
    disposeAll(p, buf);
  });
}
