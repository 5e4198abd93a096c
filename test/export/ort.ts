/**
 * onnxruntime-node for the ONNX export tests: loaded once, tests that need it skipped with the
 * reason in their title where it does not load, and a helper that runs a graph on one batch.
 */
import test, { type ExecutionContext } from 'ava';
import type * as Ort from 'onnxruntime-node';
import { tensor, type SEResNeXt } from '../../lib';

let loaded: typeof Ort | undefined;
let reason = '';
try {
  loaded = require('onnxruntime-node') as typeof Ort;
} catch (err) {
  reason = `onnxruntime-node does not load here: ${String((err as Error).message ?? err).split('\n')[0]}`;
}

/** Registers a test that needs onnxruntime; where it does not load, the test is skipped with the reason in its title. */
export function ortTest(title: string, fn: (t: ExecutionContext, ort: typeof Ort) => Promise<void>): void {
  const ort = loaded;
  if (ort) test(title, (t) => fn(t, ort));
  else test.skip(`${title} [skipped: ${reason}]`, () => undefined);
}

/** The `logits` output of a session on an NCHW float32 batch. */
export async function runSession(ort: typeof Ort, session: Ort.InferenceSession, input: Float32Array, shape: readonly number[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const feeds = { input: new ort.Tensor('float32', input, shape) };
  const out = (await session.run(feeds))['logits'];
  if (!out) throw new Error('the session gave no output named logits');
  return { data: Float32Array.from(out.data as Float32Array), dims: out.dims };
}

/** senet's eval-mode logits of an NCHW float32 batch (the model is left in eval mode). */
export async function senetLogits(model: SEResNeXt, input: Float32Array, shape: readonly number[]): Promise<Float32Array> {
  model.eval();
  using x = tensor(input, shape);
  using logits = model.forward(x, { layout: 'nchw' });
  return Float32Array.from(await logits.data());
}
