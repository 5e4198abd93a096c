import test from 'ava';
import { cosineLR, makeSchedule, multiStepLR, ParameterArena, SGD, stepLR } from '../lib';
import { close, codeOf, random } from './helpers';
import * as ref from './reference';

test('step schedule is the paper\'s: x0.1 every 30 epochs', (t) => {
  const s = stepLR(0.1);
  t.is(s.lrAt(0), 0.1);
  t.is(s.lrAt(29.99), 0.1);
  t.true(Math.abs(s.lrAt(30) - 0.01) < 1e-12);
  t.true(Math.abs(s.lrAt(61) - 0.001) < 1e-12);
});

test('multi-step and cosine with warmup', (t) => {
  const m = multiStepLR(1, [2, 5], 0.5);
  t.deepEqual([0, 1.9, 2, 4.5, 5, 9].map((e) => m.lrAt(e)), [1, 1, 0.5, 0.5, 0.25, 0.25]);
  const c = cosineLR(0.4, 10, 2, 0);
  t.is(c.lrAt(0), 0);
  t.true(Math.abs(c.lrAt(1) - 0.2) < 1e-12);
  t.true(Math.abs(c.lrAt(2) - 0.4) < 1e-12);
  t.true(Math.abs(c.lrAt(6) - 0.2) < 1e-12);
  t.true(Math.abs(c.lrAt(10)) < 1e-12);
  t.deepEqual(makeSchedule(c.spec).lrAt(3.3), c.lrAt(3.3));
  t.is(codeOf(() => cosineLR(0.1, 5, 9)), 'SENET_ARGUMENT');
});

test('SGD over an arena matches torch.optim.SGD for two steps, and its state restores', (t) => {
  const arena = ParameterArena.create([{ name: 'a', shape: [7, 3] }, { name: 'b', shape: [5] }]);
  const a = arena.get('a'), b = arena.get('b');
  const pa = random([7, 3], 1), pb = random([5], 2);
  a.value.set(pa.t.toArray() as Float32Array);
  b.value.set(pb.t.toArray() as Float32Array);
  const opt = new SGD(arena, { lr: 0.1, momentum: 0.9, weightDecay: 1e-2, nesterov: true });
  const o = { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 1e-2, nesterov: true };
  let ea = { param: pa.v, buf: null as Float64Array | null };
  for (let step = 0; step < 2; step++) {
    const ga = random([7, 3], 10 + step);
    a.grad.set(ga.t.toArray() as Float32Array);
    b.grad.set(new Float32Array(5));
    opt.step();
    ea = ref.sgdStep(ea.param, ga.v, ea.buf, { ...o, firstStep: step === 0 });
  }
  close(t, a.value, ea.param, 'a after two steps');
  t.is(opt.stepCount, 2);
  const state = opt.state();
  const other = new SGD(arena, { lr: 0.1, momentum: 0.9, weightDecay: 1e-2, nesterov: true });
  other.loadState(state);
  t.deepEqual(other.state(), state);
  t.is(codeOf(() => new SGD(arena, { lr: 0.1, nesterov: true })), 'SENET_ARGUMENT');
  t.is(codeOf(() => new SGD(arena, { lr: -1 })), 'SENET_ARGUMENT');
  opt.dispose();
  other.dispose();
  arena.dispose();
});

test('SGD.loadState: a state without a momentum buffer restarts it as a fresh SGD would; a bad buffer is SENET_STATE_DICT', (t) => {
  // Resuming a run saved with momentum 0 under momentum 0.9 used to fail with "momentumBuffer:
  // expected N values, received none"; torch starts the buffer from the next gradient.
  const run = (load: ((s: SGD, n: number) => void) | null) => {
    const arena = ParameterArena.create([{ name: 'w', shape: [6] }]);
    const w = arena.get('w');
    w.value.set(Float32Array.from([1, 2, 3, 4, 5, 6]));
    const sgd = new SGD(arena, { lr: 0.5, momentum: 0.9, dampening: 0.5 });
    load?.(sgd, arena.length);
    const out: number[][] = [];
    for (const g of [[1, 1, 1, 1, 1, 1], [2, 0, -1, 0, 3, 1]]) {
      w.grad.set(Float32Array.from(g));
      sgd.step();
      out.push(Array.from(w.value.toArray() as Float32Array));
    }
    sgd.dispose();
    arena.dispose();
    return out;
  };
  const fresh = run(null);
  // With dampening, a first step (buffer = g) and a later one (buffer = 0.9 b + 0.5 g) differ.
  t.deepEqual(run((s) => s.loadState({ stepCount: 7, lr: 0.5, momentumBuffer: null })), fresh);
  t.notDeepEqual(run((s, n) => s.loadState({ stepCount: 7, lr: 0.5, momentumBuffer: new Float32Array(n) })), fresh);

  const arena = ParameterArena.create([{ name: 'w', shape: [6] }]);
  const sgd = new SGD(arena, { lr: 0.1, momentum: 0.9 });
  const nan = new Float32Array(arena.length);
  nan[4] = NaN;
  const e = (() => {
    try {
      sgd.loadState({ stepCount: 1, lr: 0.1, momentumBuffer: nan });
    } catch (err) {
      return err as { code?: string; message: string };
    }
    return undefined;
  })();
  t.is(e?.code, 'SENET_STATE_DICT');
  t.regex(e!.message, /momentumBuffer\[4\]: expected a finite number, received NaN/);
  t.is(codeOf(() => sgd.loadState({ stepCount: 1, lr: 0.1, momentumBuffer: new Float32Array(arena.length + 1) })), 'SENET_STATE_DICT');
  t.is(codeOf(() => sgd.loadState({ stepCount: -1, lr: 0.1, momentumBuffer: null })), 'SENET_ARGUMENT');
  t.is(codeOf(() => sgd.loadState(null as unknown as { stepCount: number; lr: number; momentumBuffer: null })), 'SENET_ARGUMENT');
  sgd.dispose();
  arena.dispose();
});
