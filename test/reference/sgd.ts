/** Reference for one step of torch.optim.SGD. */

/** Hyper-parameters of one SGD step; firstStep means the momentum buffer does not exist yet. */
export interface SgdOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  firstStep: boolean;
}

/**
 * One SGD step, returning new arrays: d = g + wd * p; with momentum,
 * b = firstStep ? d : momentum * buf + (1 - dampening) * d and d = nesterov ? d + momentum * b : b;
 * then p - lr * d. buf is null when momentum is 0.
 */
export function sgdStep(
  param: ArrayLike<number>,
  grad: ArrayLike<number>,
  buf: ArrayLike<number> | null,
  o: SgdOptions,
): { param: Float64Array; buf: Float64Array | null } {
  const len = param.length;
  if (grad.length !== len) throw new RangeError(`grad length ${grad.length} != param length ${len}`);
  const useMomentum = o.momentum !== 0;
  if (useMomentum && !o.firstStep) {
    if (buf === null) throw new Error('sgdStep: momentum buffer required after the first step');
    if (buf.length !== len) throw new RangeError(`buf length ${buf.length} != param length ${len}`);
  }
  const p = new Float64Array(len);
  const b = useMomentum ? new Float64Array(len) : null;
  for (let i = 0; i < len; i++) {
    let d = grad[i] + o.weightDecay * param[i];
    if (b !== null) {
      // torch copies d into a fresh buffer on the first step, without dampening.
      b[i] = o.firstStep || buf === null ? d : o.momentum * buf[i] + (1 - o.dampening) * d;
      d = o.nesterov ? d + o.momentum * b[i] : b[i];
    }
    p[i] = param[i] - o.lr * d;
  }
  return { param: p, buf: b };
}
