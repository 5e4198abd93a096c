/**
 * Reference batch normalization over channels-last rows (M rows x C channels,
 * element (m, c) at m*C + c) plus ReLU.
 */

function rowsOf(len: number, C: number): number {
  if (C <= 0 || len % C !== 0) throw new RangeError(`length ${len} is not a multiple of C=${C}`);
  return len / C;
}

/** Per-channel batch mean and biased variance (two passes, for accuracy). */
function batchStats(z: ArrayLike<number>, M: number, C: number): { mean: Float64Array; varBiased: Float64Array } {
  const mean = new Float64Array(C);
  const varBiased = new Float64Array(C);
  for (let m = 0; m < M; m++) for (let c = 0; c < C; c++) mean[c] += z[m * C + c];
  for (let c = 0; c < C; c++) mean[c] /= M;
  for (let m = 0; m < M; m++) {
    for (let c = 0; c < C; c++) {
      const d = z[m * C + c] - mean[c];
      varBiased[c] += d * d;
    }
  }
  for (let c = 0; c < C; c++) varBiased[c] /= M;
  return { mean, varBiased };
}

/**
 * Training-mode forward: normalizes with the batch statistics.
 * varUnbiased = varBiased * M / (M - 1) (NaN when M = 1, where PyTorch refuses to train).
 */
export function batchNormTrainForward(
  z: ArrayLike<number>,
  C: number,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  eps: number,
): { y: Float64Array; mean: Float64Array; varBiased: Float64Array; varUnbiased: Float64Array } {
  const M = rowsOf(z.length, C);
  const { mean, varBiased } = batchStats(z, M, C);
  const varUnbiased = new Float64Array(C);
  for (let c = 0; c < C; c++) varUnbiased[c] = M > 1 ? (varBiased[c] * M) / (M - 1) : Number.NaN;
  const y = new Float64Array(z.length);
  for (let c = 0; c < C; c++) {
    const scale = gamma[c] / Math.sqrt(varBiased[c] + eps);
    for (let m = 0; m < M; m++) y[m * C + c] = (z[m * C + c] - mean[c]) * scale + beta[c];
  }
  return { y, mean, varBiased, varUnbiased };
}

/** Inference-mode forward: normalizes with the running statistics. */
export function batchNormEvalForward(
  z: ArrayLike<number>,
  C: number,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  runningMean: ArrayLike<number>,
  runningVar: ArrayLike<number>,
  eps: number,
): Float64Array {
  const M = rowsOf(z.length, C);
  const y = new Float64Array(z.length);
  for (let c = 0; c < C; c++) {
    const scale = gamma[c] / Math.sqrt(runningVar[c] + eps);
    for (let m = 0; m < M; m++) y[m * C + c] = (z[m * C + c] - runningMean[c]) * scale + beta[c];
  }
  return y;
}

/**
 * Training-mode backward, including the paths through the batch mean and variance:
 * dz = gamma * invstd / M * (M * dy - sum(dy) - xhat * sum(dy * xhat)).
 */
export function batchNormTrainBackward(
  dy: ArrayLike<number>,
  z: ArrayLike<number>,
  C: number,
  gamma: ArrayLike<number>,
  eps: number,
): { dz: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const M = rowsOf(z.length, C);
  if (dy.length !== z.length) throw new RangeError(`dy length ${dy.length} != z length ${z.length}`);
  const { mean, varBiased } = batchStats(z, M, C);
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  const invStd = new Float64Array(C);
  for (let c = 0; c < C; c++) invStd[c] = 1 / Math.sqrt(varBiased[c] + eps);
  for (let m = 0; m < M; m++) {
    for (let c = 0; c < C; c++) {
      const i = m * C + c;
      const xhat = (z[i] - mean[c]) * invStd[c];
      dbeta[c] += dy[i];
      dgamma[c] += dy[i] * xhat;
    }
  }
  const dz = new Float64Array(z.length);
  for (let m = 0; m < M; m++) {
    for (let c = 0; c < C; c++) {
      const i = m * C + c;
      const xhat = (z[i] - mean[c]) * invStd[c];
      dz[i] = ((gamma[c] * invStd[c]) / M) * (M * dy[i] - dbeta[c] - xhat * dgamma[c]);
    }
  }
  return { dz, dgamma, dbeta };
}

/** PyTorch running-stat update: r = (1 - momentum) * r + momentum * batch (variance unbiased). */
export function runningStatsUpdate(
  runningMean: ArrayLike<number>,
  runningVar: ArrayLike<number>,
  mean: ArrayLike<number>,
  varUnbiased: ArrayLike<number>,
  momentum: number,
): { mean: Float64Array; var: Float64Array } {
  const C = runningMean.length;
  const outMean = new Float64Array(C);
  const outVar = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    outMean[c] = (1 - momentum) * runningMean[c] + momentum * mean[c];
    outVar[c] = (1 - momentum) * runningVar[c] + momentum * varUnbiased[c];
  }
  return { mean: outMean, var: outVar };
}

/** Elementwise max(x, 0). */
export function reluForward(x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i] > 0 ? x[i] : 0;
  return y;
}

/** ReLU gradient from its output: dy passes where y > 0. */
export function reluBackward(dy: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  if (dy.length !== y.length) throw new RangeError(`dy length ${dy.length} != y length ${y.length}`);
  const dx = new Float64Array(dy.length);
  for (let i = 0; i < dy.length; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
  return dx;
}
