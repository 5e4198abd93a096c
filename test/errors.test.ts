import test from 'ava';
import { ops, tensor, zeros, randn, ones, type Tensor } from '../lib';
import { binding } from '../lib/binding';
import { codeOf, disposeAll } from './helpers';

// Every bad input gives an Error with a code and a message saying what was expected and what
// was received; the process goes on (each test ends with a call that works).

function convInputs(cin = 4, cout = 8, k = 3, groups = 1) {
  return {
    x: randn([2, 5, 6, cin], { seed: 1 }),
    w: randn([cout, k, k, cin / groups], { seed: 2 }),
    gamma: ones([cout]),
    beta: zeros([cout]),
    runningMean: zeros([cout]),
    runningVar: ones([cout]),
  };
}

function thrown(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected a throw');
}

test('wrong rank', (t) => {
  const c = convInputs();
  const x3 = zeros([5, 6, 4]);
  const e = thrown(() => ops.convBnForward({ ...c, x: x3 }));
  t.is(e.code, 'SENET_SHAPE');
  t.regex(e.message, /convBnForward: x: expected rank 4, received shape \[5, 6, 4\]/);
  t.is(codeOf(() => ops.linearForward(c.x, c.w)), 'SENET_SHAPE');
  t.is(codeOf(() => ops.globalAvgPoolForward(x3)), 'SENET_SHAPE');
  t.truthy(ops.convBnForward(c).y);
  disposeAll(c, x3);
});

test('shapes that do not agree between arguments', (t) => {
  const c = convInputs();
  const gamma7 = ones([7]);
  const e = thrown(() => ops.convBnForward({ ...c, gamma: gamma7 }));
  t.is(e.code, 'SENET_SHAPE');
  t.regex(e.message, /gamma: expected shape \[8\], received \[7\]/);
  const wBad = zeros([8, 3, 3, 3]);
  t.is(codeOf(() => ops.convBnForward({ ...c, w: wBad })), 'SENET_SHAPE');
  const u = zeros([2, 3, 3, 16]);
  const se = { w1: zeros([8, 16]), b1: zeros([8]), w2: zeros([16, 8]), b2: zeros([16]) };
  const badShortcut = zeros([2, 3, 4, 16]);
  t.is(codeOf(() => ops.seForward(u, se, badShortcut)), 'SENET_SHAPE');
  t.is(codeOf(() => ops.seForward(u, { ...se, w2: zeros([16, 7]) })), 'SENET_SHAPE');
  const x = zeros([3, 10]);
  t.is(codeOf(() => ops.linearForward(x, zeros([4, 9]))), 'SENET_SHAPE');
  const labels = tensor(BigInt64Array.from([0n, 1n]));
  t.is(codeOf(() => ops.crossEntropyForward(zeros([3, 4]), labels)), 'SENET_SHAPE');
  const p = zeros([10]);
  t.is(codeOf(() => ops.sgdStep(p, zeros([11]), null, { lr: 0.1 })), 'SENET_SHAPE');
  t.truthy(ops.seForward(u, se).y);
  disposeAll(c, gamma7, wBad, u, se, badShortcut, x, labels, p);
});

test('wrong dtype', (t) => {
  const c = convInputs();
  const xi = zeros([2, 5, 6, 4], { dtype: 'int32' });
  const e = thrown(() => ops.convBnForward({ ...c, x: xi }));
  t.is(e.code, 'SENET_DTYPE');
  t.regex(e.message, /expected dtype float32 or bfloat16, received int32/);
  const fl = zeros([2]);
  t.is(codeOf(() => ops.crossEntropyForward(zeros([2, 3]), fl)), 'SENET_DTYPE');
  const native = binding.empty([2, 5, 6, 4], 'uint8', 'cpu');
  t.is(codeOf(() => binding.globalAvgPoolForward({ x: native, y: binding.empty([2, 4], 'float32', 'cpu') })), 'SENET_DTYPE');
  t.is(codeOf(() => zeros([2], { dtype: 'float16' as 'float32' })), 'SENET_ARGUMENT');
  const i32 = zeros([3], { dtype: 'int32' });
  t.is(codeOf(() => i32.set(new Float32Array(3) as unknown as Int32Array)), 'SENET_DTYPE');
  disposeAll(c, xi, fl, i32);
  native.dispose();
  t.pass();
});

test('groups that do not divide the channels', (t) => {
  const c = convInputs(6, 8, 3, 2);
  const e = thrown(() => ops.convBnForward(c, { groups: 4 }));
  t.is(e.code, 'SENET_ARGUMENT');
  t.regex(e.message, /groups: expected a divisor of the input channels \(6\), received 4/);
  t.is(codeOf(() => ops.convBnForward(c, { groups: 0 })), 'SENET_ARGUMENT');
  t.is(codeOf(() => ops.convBnForward(c, { groups: 1.5 })), 'SENET_ARGUMENT');
  // The native side refuses it too, when called directly.
  const y = zeros([2, 5, 6, 8]);
  const n = (t2: Tensor) => t2.native;
  const params = { kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, groups: 3, relu: true, training: false, eps: 1e-5, momentum: 0.1 };
  t.is(codeOf(() => binding.convBnForward({ x: n(c.x), w: n(c.w), gamma: n(c.gamma), beta: n(c.beta), runningMean: n(c.runningMean), runningVar: n(c.runningVar), y: n(y), z: null, saveMean: null, saveVar: null, params })), 'SENET_ARGUMENT');
  t.truthy(ops.convBnForward(c, { groups: 2, padding: 1 }).y);
  disposeAll(c, y);
});

test('zero or negative sizes, strides and paddings', (t) => {
  t.is(codeOf(() => zeros([2, -1])), 'SENET_SHAPE');
  t.is(codeOf(() => zeros([2, 1.5])), 'SENET_SHAPE');
  t.is(codeOf(() => binding.empty([-3], 'float32', 'cpu')), 'SENET_SHAPE');
  const c = convInputs();
  t.is(codeOf(() => ops.convBnForward(c, { stride: 0 })), 'SENET_ARGUMENT');
  t.is(codeOf(() => ops.convBnForward(c, { padding: -1 })), 'SENET_ARGUMENT');
  t.is(codeOf(() => ops.maxPoolForward(c.x, { kernel: 0 })), 'SENET_ARGUMENT');
  t.is(codeOf(() => ops.maxPoolForward(c.x, { kernel: 3, padding: 2 })), 'SENET_ARGUMENT');
  const empty = zeros([0, 5, 6, 4]);
  t.is(codeOf(() => ops.convBnForward({ ...c, x: empty })), 'SENET_SHAPE');
  const tiny = zeros([1, 1, 1, 4]);
  t.is(codeOf(() => ops.convBnForward({ ...c, x: tiny })), 'SENET_SHAPE'); // smaller than the kernel
  // Training-mode batch norm of one value per channel is undefined, as in PyTorch.
  const one = zeros([1, 3, 3, 4]);
  t.is(codeOf(() => ops.convBnForward({ ...c, x: one }, { padding: 0 })), 'SENET_SHAPE');
  t.is(codeOf(() => ops.sgdStep(zeros([2]), zeros([2]), null, { lr: -1 })), 'SENET_ARGUMENT');
  t.truthy(ops.maxPoolForward(c.x));
  disposeAll(c, empty, tiny, one);
});

test('a disposed tensor, in TypeScript and in the native glue', (t) => {
  const c = convInputs();
  c.w.dispose();
  const e = thrown(() => ops.convBnForward(c));
  t.is(e.code, 'SENET_DISPOSED');
  t.regex(e.message, /w: the tensor has been disposed/);
  const a = zeros([4]);
  const b = zeros([4]);
  a.dispose();
  t.is(codeOf(() => binding.add({ a: a.native, b: b.native, out: b.native })), 'SENET_DISPOSED');
  t.is(codeOf(() => a.toArray()), 'SENET_DISPOSED');
  t.is(codeOf(() => a.set(new Float32Array(4))), 'SENET_DISPOSED');
  t.is(codeOf(() => a.view(0, [2])), 'SENET_DISPOSED');
  t.truthy(ops.add(b, b));
  disposeAll(c, b);
});

test('values that are not tensors or typed arrays', (t) => {
  t.is(codeOf(() => tensor([1, 2, 3] as unknown as Float32Array)), 'SENET_ARGUMENT');
  t.is(codeOf(() => tensor(new Float64Array(3) as unknown as Float32Array)), 'SENET_ARGUMENT');
  const x = zeros([3]);
  t.is(codeOf(() => x.set([1, 2, 3] as unknown as Float32Array)), 'SENET_ARGUMENT');
  t.is(codeOf(() => ops.add(x, 3 as unknown as Tensor)), 'SENET_ARGUMENT');
  t.is(codeOf(() => ops.convBnForward(null as unknown as Parameters<typeof ops.convBnForward>[0])), 'SENET_ARGUMENT');
  // Straight into the glue: a plain object, a number, a missing argument, a bad params object.
  const e = thrown(() => binding.add({ a: { shape: [3] } as unknown as typeof x.native, b: x.native, out: x.native }));
  t.is(e.code, 'SENET_ARGUMENT');
  t.regex(e.message, /add: a: expected a Tensor, received an object/);
  t.is(codeOf(() => binding.fill({ tensor: x.native, params: { value: 'one' as unknown as number } })), 'SENET_ARGUMENT');
  // Positional arguments (the old binding) are refused: one object of named arguments.
  const positional = thrown(() => (binding.add as unknown as (...a: unknown[]) => void)(x.native, x.native, x.native));
  t.is(positional.code, 'SENET_ARGUMENT');
  t.regex(positional.message, /add: a: expected a Tensor, received undefined/);
  t.is(codeOf(() => (binding.add as unknown as (a: unknown) => void)(undefined)), 'SENET_ARGUMENT');
  t.is(codeOf(() => binding.fromTypedArray([1, 2] as unknown as Float32Array, [2], 'cpu')), 'SENET_ARGUMENT');
  t.is(codeOf(() => binding.maxPoolForward({ x: x.native, y: x.native, params: { kernelH: 'three' } as unknown as Parameters<typeof binding.maxPoolForward>[0]['params'] })), 'SENET_ARGUMENT');
  t.is(codeOf(() => binding.empty([2], 'float32', 'tpu' as 'cpu')), 'SENET_DEVICE');
  t.is(codeOf(() => binding.fillNormal({ tensor: x.native, params: { mean: 0, std: 1, seed: -5 } })), 'SENET_ARGUMENT');
  t.truthy(ops.add(x, x));
  x.dispose();
});

test('labels out of range are an error at the next read, not a read out of bounds', async (t) => {
  const logits = zeros([2, 3]);
  const labels = tensor(BigInt64Array.from([0n, 3n]));
  // Values are only seen when the op runs: the error rejects the next read, with its code.
  const out = ops.crossEntropyForward(logits, labels);
  const e = await t.throwsAsync(out.loss.data());
  t.is((e as { code?: string }).code, 'SENET_ARGUMENT');
  t.regex(e!.message, /labels: expected values in \[0, 3\), received 3 at index 1/);
  // Once reported it is cleared: the next ops run and read normally.
  const good = tensor(Int32Array.from([2, 0]));
  t.is((await ops.crossEntropyForward(logits, good).loss.data()).length, 1);
  const neg = tensor(Int32Array.from([-1, 0]));
  const d = ops.crossEntropyBackward(logits, neg);
  t.is(codeOf(() => d.toArray()), 'SENET_ARGUMENT', 'a blocking read reports it too');
  disposeAll(logits, labels, neg, good, out.loss, out.correct, d);
});

test('tensors on a device this build or machine does not have', (t) => {
  const code = codeOf(() => zeros([2], { device: 'cuda' }));
  t.true(code === 'SENET_DEVICE' || code === 'SENET_NO_CUDA' || code === undefined, `code ${code}`);
});

test('outputs that overlap inputs are refused where the op cannot work in place', (t) => {
  const x = randn([1, 4, 4, 3], { seed: 1 });
  const se = { w1: zeros([8, 3]), b1: zeros([8]), w2: zeros([3, 8]), b2: zeros([3]) };
  t.is(codeOf(() => ops.seForward(x, se, null, { y: x })), 'SENET_ARGUMENT');
  disposeAll(x, se);
});
