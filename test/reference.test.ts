/**
 * Self-test of the float64 reference ops: every backward is checked against central
 * finite differences of L = dot(forward(...), r), and a few forwards against hand results.
 */
import test, { ExecutionContext } from 'ava';
import {
  ConvGeom,
  PoolGeom,
  batchNormEvalForward,
  batchNormTrainBackward,
  batchNormTrainForward,
  conv2dBackward,
  conv2dForward,
  convOutSize,
  crossEntropyBackward,
  crossEntropyForward,
  dot,
  globalAvgPoolBackward,
  globalAvgPoolForward,
  linearBackward,
  linearForward,
  maxPoolBackward,
  maxPoolForward,
  maxRelError,
  numericGradient,
  randomArray,
  relL2Error,
  reluBackward,
  reluForward,
  runningStatsUpdate,
  seBackward,
  seForward,
  seededRandom,
  sgdStep,
} from './reference';

const GRAD_TOL = 1e-6;

/** Asserts an analytic gradient matches the numeric gradient of f at x. */
function checkGrad(
  t: ExecutionContext,
  name: string,
  f: (x: Float64Array) => number,
  x: Float64Array,
  analytic: ArrayLike<number>,
): void {
  const numeric = numericGradient(f, x);
  const err = maxRelError(analytic, numeric);
  t.true(err < GRAD_TOL, `${name}: max rel error ${err}`);
}

/** Minimum |v| over an array, to show test inputs stay clear of ReLU kinks. */
function minAbs(a: ArrayLike<number>): number {
  let m = Infinity;
  for (let i = 0; i < a.length; i++) m = Math.min(m, Math.abs(a[i]));
  return m;
}

/** Copies of a with every value pushed at least `gap` away from zero. */
function awayFromZero(a: Float64Array, gap: number): Float64Array {
  return a.map((v) => (v >= 0 ? v + gap : v - gap));
}

// ---------------------------------------------------------------- util

test('util: error metrics, PRNG and numeric gradient basics', (t) => {
  t.is(maxRelError([1, 2, 4], [1, 2, 3]), 1 / 3);
  t.is(maxRelError([0, 0], [0, 0]), 0);
  t.true(Math.abs(relL2Error([3, 0], [0, 4]) - 5 / 4) < 1e-15);
  t.throws(() => maxRelError([1], [1, 2]));
  t.throws(() => relL2Error([1], [1, 2]));
  t.is(dot([1, 2, 3], new Float32Array([4, 5, 6])), 32);

  const a = seededRandom(42);
  const b = seededRandom(42);
  for (let i = 0; i < 100; i++) {
    const v = a();
    t.is(v, b());
    t.true(v >= 0 && v < 1);
  }
  const r = randomArray(1000, 7, 0.5);
  t.true(r.every((v) => v >= -0.5 && v < 0.5));
  t.deepEqual(r, randomArray(1000, 7, 0.5));
  t.notDeepEqual(r, randomArray(1000, 8, 0.5));

  // d/dx of sum x^3 = 3x^2; x must come back unchanged.
  const x = Float64Array.from([0.5, -1.25, 2]);
  const copy = x.slice();
  const g = numericGradient((v) => v.reduce((s, e) => s + e * e * e, 0), x);
  t.deepEqual(x, copy);
  t.true(maxRelError(g, x.map((e) => 3 * e * e)) < 1e-8);
});

// ---------------------------------------------------------------- conv

test('conv: output size follows PyTorch floor rule', (t) => {
  t.is(convOutSize(7, 3, 2, 1), 4);
  t.is(convOutSize(8, 3, 2, 1), 4);
  t.is(convOutSize(224, 7, 2, 3), 112);
  t.is(convOutSize(5, 1, 2, 0), 3);
});

test('conv: 1x1 stride-1 conv equals a matmul', (t) => {
  const n = 2;
  const hw = 3 * 4;
  const cin = 5;
  const cout = 3;
  const x = new Float32Array(randomArray(n * hw * cin, 1)); // Float32Array input is allowed
  const w = randomArray(cout * cin, 2);
  const g: ConvGeom = { n, h: 3, w: 4, cin, cout, kh: 1, kw: 1, strideH: 1, strideW: 1, padH: 0, padW: 0, groups: 1 };
  const y = conv2dForward(x, w, g);
  // Each pixel row (Cin) times w^T: exactly a linear layer without bias.
  const expected = linearForward(x, w, null, n * hw, cin, cout);
  t.true(maxRelError(y, expected) < 1e-15);
});

test('conv: depthwise 3x3 of ones on ones counts in-range taps', (t) => {
  const c = 2;
  const g: ConvGeom = { n: 1, h: 3, w: 4, cin: c, cout: c, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, groups: c };
  const y = conv2dForward(new Float64Array(3 * 4 * c).fill(1), new Float64Array(c * 9).fill(1), g);
  const counts = [4, 6, 6, 4, 6, 9, 9, 6, 4, 6, 6, 4];
  const expected = new Float64Array(counts.length * c);
  counts.forEach((v, i) => expected.fill(v, i * c, i * c + c));
  t.deepEqual(y, expected);
});

test('conv: grouped conv equals per-group convs concatenated', (t) => {
  const groups = 3;
  const g: ConvGeom = { n: 2, h: 5, w: 4, cin: 6, cout: 9, kh: 3, kw: 2, strideH: 2, strideW: 1, padH: 1, padW: 0, groups };
  const x = randomArray(g.n * g.h * g.w * g.cin, 3);
  const w = randomArray(g.cout * g.kh * g.kw * (g.cin / groups), 4);
  const y = conv2dForward(x, w, g);
  const cinG = g.cin / groups;
  const coutG = g.cout / groups;
  const pixels = y.length / g.cout;
  for (let gi = 0; gi < groups; gi++) {
    const xg = new Float64Array(g.n * g.h * g.w * cinG);
    for (let p = 0; p < g.n * g.h * g.w; p++) {
      for (let c = 0; c < cinG; c++) xg[p * cinG + c] = x[p * g.cin + gi * cinG + c];
    }
    const wg = w.subarray(gi * coutG * g.kh * g.kw * cinG, (gi + 1) * coutG * g.kh * g.kw * cinG);
    const yg = conv2dForward(xg, wg, { ...g, cin: cinG, cout: coutG, groups: 1 });
    const slice = new Float64Array(pixels * coutG);
    for (let p = 0; p < pixels; p++) {
      for (let o = 0; o < coutG; o++) slice[p * coutG + o] = y[p * g.cout + gi * coutG + o];
    }
    t.true(maxRelError(slice, yg) < 1e-15, `group ${gi}`);
  }
});

const convCases: [string, ConvGeom][] = [
  ['3x3 pad 1, groups 1, batch 2', { n: 2, h: 5, w: 4, cin: 3, cout: 5, kh: 3, kw: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, groups: 1 }],
  ['3x3 stride 2 pad 1, groups 2, batch 1', { n: 1, h: 7, w: 5, cin: 6, cout: 10, kh: 3, kw: 3, strideH: 2, strideW: 2, padH: 1, padW: 1, groups: 2 }],
  ['3x3 stride 2 pad 1, depthwise, batch 2', { n: 2, h: 6, w: 5, cin: 5, cout: 5, kh: 3, kw: 3, strideH: 2, strideW: 2, padH: 1, padW: 1, groups: 5 }],
  ['1x1 stride 2 downsample, batch 2', { n: 2, h: 5, w: 6, cin: 3, cout: 7, kh: 1, kw: 1, strideH: 2, strideW: 2, padH: 0, padW: 0, groups: 1 }],
  ['1x3 mixed stride/pad, groups 3, batch 1', { n: 1, h: 4, w: 6, cin: 9, cout: 3, kh: 1, kw: 3, strideH: 2, strideW: 1, padH: 0, padW: 1, groups: 3 }],
  ['7x7 stride 2 pad 3 stem, batch 1', { n: 1, h: 9, w: 7, cin: 3, cout: 2, kh: 7, kw: 7, strideH: 2, strideW: 2, padH: 3, padW: 3, groups: 1 }],
];

for (const [name, g] of convCases) {
  test(`conv backward: ${name}`, (t) => {
    const ho = convOutSize(g.h, g.kh, g.strideH, g.padH);
    const wo = convOutSize(g.w, g.kw, g.strideW, g.padW);
    const x = randomArray(g.n * g.h * g.w * g.cin, 10);
    const w = randomArray(g.cout * g.kh * g.kw * (g.cin / g.groups), 11);
    const r = randomArray(g.n * ho * wo * g.cout, 12);
    t.is(conv2dForward(x, w, g).length, r.length);
    const { dx, dw } = conv2dBackward(r, x, w, g);
    checkGrad(t, 'dx', (v) => dot(conv2dForward(v, w, g), r), x, dx);
    checkGrad(t, 'dw', (v) => dot(conv2dForward(x, v, g), r), w, dw);
  });
}

// ---------------------------------------------------------------- batch norm / relu

test('batchnorm: train forward statistics and output moments', (t) => {
  const C = 3;
  const M = 8;
  const z = randomArray(M * C, 20, 2);
  const gamma = Float64Array.from([1.5, -0.5, 2]);
  const beta = Float64Array.from([0.1, 0.2, -0.3]);
  const eps = 1e-5;
  const { y, mean, varBiased, varUnbiased } = batchNormTrainForward(z, C, gamma, beta, eps);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let m = 0; m < M; m++) s += z[m * C + c];
    t.true(Math.abs(mean[c] - s / M) < 1e-14);
    t.true(Math.abs(varUnbiased[c] - (varBiased[c] * M) / (M - 1)) < 1e-14);
    // y has per-channel mean beta and biased variance gamma^2 var / (var + eps).
    let ym = 0;
    for (let m = 0; m < M; m++) ym += y[m * C + c];
    ym /= M;
    let yv = 0;
    for (let m = 0; m < M; m++) yv += (y[m * C + c] - ym) ** 2;
    yv /= M;
    t.true(Math.abs(ym - beta[c]) < 1e-13);
    t.true(Math.abs(yv - (gamma[c] ** 2 * varBiased[c]) / (varBiased[c] + eps)) < 1e-12);
  }
  // One channel by hand: z = 1, 3 -> mean 2, biased var 1, unbiased var 2.
  const one = batchNormTrainForward([1, 3], 1, [1], [0], 0);
  t.deepEqual(Array.from(one.y), [-1, 1]);
  t.deepEqual(Array.from(one.varUnbiased), [2]);
});

test('batchnorm: eval forward and running stats by hand', (t) => {
  const y = batchNormEvalForward([1, 10, 3, 20], 2, [2, 1], [1, 0], [1, 10], [4, 25], 0);
  t.deepEqual(Array.from(y), [1, 0, 3, 2]);
  const upd = runningStatsUpdate([0, 1], [1, 1], [2, 3], [5, 9], 0.1);
  t.true(maxRelError(upd.mean, [0.2, 1.2]) < 1e-15);
  t.true(maxRelError(upd.var, [1.4, 1.8]) < 1e-15);
});

test('batchnorm backward: train mode through batch statistics', (t) => {
  const C = 5;
  const M = 2 * 3 * 2;
  const eps = 1e-3;
  const z = randomArray(M * C, 21, 1.5);
  const gamma = randomArray(C, 22);
  const beta = randomArray(C, 23);
  const r = randomArray(M * C, 24);
  const { dz, dgamma, dbeta } = batchNormTrainBackward(r, z, C, gamma, eps);
  const L = (zz: Float64Array, gg: Float64Array, bb: Float64Array): number =>
    dot(batchNormTrainForward(zz, C, gg, bb, eps).y, r);
  checkGrad(t, 'dz', (v) => L(v, gamma, beta), z, dz);
  checkGrad(t, 'dgamma', (v) => L(z, v, beta), gamma.slice(), dgamma);
  checkGrad(t, 'dbeta', (v) => L(z, gamma, v), beta.slice(), dbeta);
});

test('relu: forward by hand and backward vs finite differences', (t) => {
  t.deepEqual(Array.from(reluForward([-1, 0, 2.5])), [0, 0, 2.5]);
  t.deepEqual(Array.from(reluBackward([5, 6, 7], [0, 0, 2.5])), [0, 0, 7]);
  const x = awayFromZero(randomArray(30, 30), 0.01);
  const r = randomArray(30, 31);
  const dx = reluBackward(r, reluForward(x));
  checkGrad(t, 'dx', (v) => dot(reluForward(v), r), x, dx);
});

// ---------------------------------------------------------------- squeeze-and-excitation

test('se: forward with zero weights gates by one half', (t) => {
  const n = 2;
  const hw = 3;
  const c = 4;
  const R = 2;
  const u = randomArray(n * hw * c, 40);
  const s = randomArray(n * hw * c, 41);
  const zeros = (k: number): Float64Array => new Float64Array(k);
  const plain = seForward(u, n, hw, c, zeros(R * c), zeros(R), zeros(c * R), zeros(c));
  t.true(plain.gate.every((v) => v === 0.5));
  t.true(plain.hidden.every((v) => v === 0));
  t.true(maxRelError(plain.pooled, globalAvgPoolForward(u, n, hw, c)) < 1e-15);
  t.true(maxRelError(plain.y, u.map((v) => v / 2)) < 1e-15);
  const fused = seForward(u, n, hw, c, zeros(R * c), zeros(R), zeros(c * R), zeros(c), s);
  t.true(maxRelError(fused.y, reluForward(u.map((v, i) => v / 2 + s[i]))) < 1e-15);
});

for (const withShortcut of [false, true]) {
  test(`se backward: ${withShortcut ? 'with' : 'without'} shortcut`, (t) => {
    const n = 2;
    const hw = 5;
    const c = 6;
    const R = 3;
    const u = randomArray(n * hw * c, 50);
    const w1 = randomArray(R * c, 51, 2);
    const b1 = randomArray(R, 52, 0.3);
    const w2 = randomArray(c * R, 53, 2);
    const b2 = randomArray(c, 54);
    const s = withShortcut ? randomArray(n * hw * c, 55, 0.5) : undefined;
    const r = randomArray(n * hw * c, 56);

    // Inputs must sit clear of the hidden ReLU and fused ReLU kinks.
    const fwd = seForward(u, n, hw, c, w1, b1, w2, b2, s);
    const a1 = linearForward(fwd.pooled, w1, b1, n, c, R);
    t.true(minAbs(a1) > 1e-3, `hidden pre-activation too close to 0: ${minAbs(a1)}`);
    t.true(fwd.hidden.some((v) => v > 0) && fwd.hidden.some((v) => v === 0), 'both ReLU branches exercised');
    if (s !== undefined) {
      const pre = u.map((v, i) => v * fwd.gate[Math.floor(i / (hw * c)) * c + (i % c)] + s[i]);
      t.true(minAbs(pre) > 1e-4, `shortcut pre-activation too close to 0: ${minAbs(pre)}`);
      t.true(fwd.y.some((v) => v === 0) && fwd.y.some((v) => v > 0));
    }

    const g = seBackward(r, u, n, hw, c, w1, b1, w2, b2, s);
    t.is(g.dshortcut === undefined, s === undefined);
    const L = (uu: Float64Array, ww1: Float64Array, bb1: Float64Array, ww2: Float64Array, bb2: Float64Array, ss?: Float64Array): number =>
      dot(seForward(uu, n, hw, c, ww1, bb1, ww2, bb2, ss).y, r);
    checkGrad(t, 'du', (v) => L(v, w1, b1, w2, b2, s), u, g.du);
    checkGrad(t, 'dw1', (v) => L(u, v, b1, w2, b2, s), w1.slice(), g.dw1);
    checkGrad(t, 'db1', (v) => L(u, w1, v, w2, b2, s), b1.slice(), g.db1);
    checkGrad(t, 'dw2', (v) => L(u, w1, b1, v, b2, s), w2.slice(), g.dw2);
    checkGrad(t, 'db2', (v) => L(u, w1, b1, w2, v, s), b2.slice(), g.db2);
    if (s !== undefined && g.dshortcut !== undefined) {
      checkGrad(t, 'dshortcut', (v) => L(u, w1, b1, w2, b2, v), s.slice(), g.dshortcut);
    }
  });
}

// ---------------------------------------------------------------- pooling

test('maxpool: padding never wins and ties pick the first maximum', (t) => {
  // 1x3x3x1 all negative: with pad 1 a zero pad would win if it were a value.
  const x = Float64Array.from([-9, -8, -7, -6, -5, -4, -3, -2, -1]);
  const g: PoolGeom = { n: 1, h: 3, w: 3, c: 1, kh: 3, kw: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 };
  const { y, argmax, ho, wo } = maxPoolForward(x, g);
  t.is(ho, 2);
  t.is(wo, 2);
  t.deepEqual(Array.from(y), [-5, -4, -2, -1]);
  t.deepEqual(Array.from(argmax), [4, 5, 7, 8]);
  // Constant input: every window's first in-range tap wins.
  const flat = maxPoolForward(new Float64Array(9).fill(3), g);
  t.deepEqual(Array.from(flat.argmax), [0, 1, 3, 4]);
  // Overlapping windows accumulate: x[4] wins all four windows.
  const peak = Float64Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0]);
  t.deepEqual(Array.from(maxPoolBackward([1, 2, 3, 4], peak, g)), [0, 0, 0, 0, 10, 0, 0, 0, 0]);
});

for (const [h, w, n] of [
  [7, 5, 2],
  [5, 9, 1],
] as const) {
  test(`maxpool backward: 3x3 stride 2 pad 1 on ${n}x${h}x${w}x3`, (t) => {
    const g: PoolGeom = { n, h, w, c: 3, kh: 3, kw: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 };
    // A shuffled arithmetic sequence: distinct values with gaps far above the FD step.
    const size = n * h * w * g.c;
    const x = new Float64Array(size);
    const rnd = seededRandom(60 + h);
    const order = Array.from({ length: size }, (_, i) => i);
    for (let i = size - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    order.forEach((v, i) => (x[i] = (v - size / 2) * 0.01));
    const { y } = maxPoolForward(x, g);
    const r = randomArray(y.length, 61);
    const dx = maxPoolBackward(r, x, g);
    checkGrad(t, 'dx', (v) => dot(maxPoolForward(v, g).y, r), x, dx);
  });
}

test('global avg pool: constants, hand values and backward', (t) => {
  const n = 2;
  const hw = 6;
  const c = 3;
  t.true(globalAvgPoolForward(new Float64Array(n * hw * c).fill(2.5), n, hw, c).every((v) => v === 2.5));
  t.deepEqual(Array.from(globalAvgPoolForward([1, 10, 3, 20], 1, 2, 2)), [2, 15]);
  const x = randomArray(n * hw * c, 70);
  const r = randomArray(n * c, 71);
  const dx = globalAvgPoolBackward(r, n, hw, c);
  checkGrad(t, 'dx', (v) => dot(globalAvgPoolForward(v, n, hw, c), r), x, dx);
});

// ---------------------------------------------------------------- linear

test('linear: forward by hand and backward', (t) => {
  // x = [[1, 2]], w = [[3, 4], [5, 6], [7, 8]], b = [1, 0, -1]
  t.deepEqual(Array.from(linearForward([1, 2], [3, 4, 5, 6, 7, 8], [1, 0, -1], 1, 2, 3)), [12, 17, 22]);
  t.deepEqual(Array.from(linearForward([1, 2], [3, 4, 5, 6, 7, 8], null, 1, 2, 3)), [11, 17, 23]);
  const n = 3;
  const inF = 7;
  const outF = 5;
  const x = randomArray(n * inF, 80);
  const w = randomArray(outF * inF, 81);
  const b = randomArray(outF, 82);
  const r = randomArray(n * outF, 83);
  const { dx, dw, db } = linearBackward(r, x, w, n, inF, outF);
  checkGrad(t, 'dx', (v) => dot(linearForward(v, w, b, n, inF, outF), r), x, dx);
  checkGrad(t, 'dw', (v) => dot(linearForward(x, v, b, n, inF, outF), r), w, dw);
  checkGrad(t, 'db', (v) => dot(linearForward(x, w, v, n, inF, outF), r), b, db);
});

// ---------------------------------------------------------------- loss

test('cross entropy: uniform logits, hand values and accuracy count', (t) => {
  const k = 10;
  const uniform = crossEntropyForward(new Float64Array(2 * k).fill(3), 2, k, [0, 7]);
  t.true(Math.abs(uniform.loss - Math.log(k)) < 1e-14);
  t.is(uniform.correct, 1); // ties resolve to index 0: row 0 correct, row 1 not
  t.true(Math.abs(crossEntropyForward(new Float64Array(k), 1, k, [4], 0.3).loss - Math.log(k)) < 1e-14);

  // K = 2, logits [0, log 3]: p = [1/4, 3/4].
  const lg = [0, Math.log(3)];
  t.true(Math.abs(crossEntropyForward(lg, 1, 2, [1]).loss - Math.log(4 / 3)) < 1e-14);
  const smooth = 0.5 * Math.log(4 / 3) + 0.5 * 0.5 * (Math.log(4) + Math.log(4 / 3));
  t.true(Math.abs(crossEntropyForward(lg, 1, 2, [1], 0.5).loss - smooth) < 1e-14);
  // BigInt labels from a BigInt64Array and huge logits (stability).
  const big = crossEntropyForward([1000, 0, 0, 1000], 2, 2, BigInt64Array.from([0n, 0n]));
  t.is(big.correct, 1);
  t.true(Math.abs(big.loss - 500) < 1e-9);
  t.throws(() => crossEntropyForward([0, 0], 1, 2, [2]));
});

for (const eps of [0, 0.1]) {
  test(`cross entropy backward: label smoothing ${eps}`, (t) => {
    const n = 4;
    const k = 7;
    const logits = randomArray(n * k, 90, 3);
    const labels = BigInt64Array.from([3n, 0n, 6n, 3n]);
    const d = crossEntropyBackward(logits, n, k, labels, eps);
    checkGrad(t, 'dlogits', (v) => crossEntropyForward(v, n, k, labels, eps).loss, logits, d);
    // Each row of the gradient sums to zero (softmax and targets both sum to 1).
    for (let r = 0; r < n; r++) t.true(Math.abs(d.subarray(r * k, r * k + k).reduce((a, b) => a + b, 0)) < 1e-15);
  });
}

// ---------------------------------------------------------------- sgd

test('sgd: momentum, dampening, weight decay and nesterov by hand', (t) => {
  const base = { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false };
  // Step 1: buf = g = 2, p = 1 - 0.1*2 = 0.8. Step 2: g = 1, buf = 0.9*2 + 1 = 2.8, p = 0.8 - 0.28 = 0.52.
  const s1 = sgdStep([1], [2], null, { ...base, firstStep: true });
  t.true(maxRelError(s1.param, [0.8]) < 1e-15);
  t.deepEqual(Array.from(s1.buf ?? []), [2]);
  const s2 = sgdStep(s1.param, [1], s1.buf, { ...base, firstStep: false });
  t.true(maxRelError(s2.param, [0.52]) < 1e-15);
  t.true(maxRelError(s2.buf ?? [], [2.8]) < 1e-15);

  // Weight decay 0.5 and dampening 0.5 (ignored on the first step), nesterov.
  const o = { lr: 0.1, momentum: 0.5, dampening: 0.5, weightDecay: 0.5, nesterov: true };
  // Step 1: d = 1 + 0.5*2 = 2, buf = 2, d = 2 + 0.5*2 = 3, p = 2 - 0.3 = 1.7.
  const n1 = sgdStep([2], [1], null, { ...o, firstStep: true });
  t.true(maxRelError(n1.param, [1.7]) < 1e-15);
  // Step 2: d = 1 + 0.85 = 1.85, buf = 0.5*2 + 0.5*1.85 = 1.925, d = 1.85 + 0.9625 = 2.8125, p = 1.7 - 0.28125.
  const n2 = sgdStep(n1.param, [1], n1.buf, { ...o, firstStep: false });
  t.true(maxRelError(n2.buf ?? [], [1.925]) < 1e-15);
  t.true(maxRelError(n2.param, [1.41875]) < 1e-15);

  // No momentum: plain step, no buffer; inputs are not modified.
  const p = Float64Array.from([1, -1]);
  const plain = sgdStep(p, [1, 1], null, { lr: 0.5, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, firstStep: false });
  t.deepEqual(Array.from(plain.param), [0.5, -1.5]);
  t.is(plain.buf, null);
  t.deepEqual(Array.from(p), [1, -1]);
  t.throws(() => sgdStep([1], [1], null, { ...base, firstStep: false }));
});
