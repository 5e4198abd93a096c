/**
 * Reference softmax cross-entropy, mean over the batch, with PyTorch label smoothing:
 * loss_n = (1 - eps) * (-log p[n, label]) + eps * mean_k(-log p[n, k]).
 */

function labelAt(labels: ArrayLike<number | bigint>, row: number, k: number): number {
  const y = Number(labels[row]); // labels may come from a BigInt64Array
  if (!Number.isInteger(y) || y < 0 || y >= k) throw new RangeError(`label ${y} at row ${row} outside [0, ${k})`);
  return y;
}

/** log softmax of one row, shifted by the row max for stability. */
function logSoftmaxRow(logits: ArrayLike<number>, row: number, k: number): Float64Array {
  const base = row * k;
  let max = -Infinity;
  for (let j = 0; j < k; j++) if (logits[base + j] > max) max = logits[base + j];
  let sum = 0;
  for (let j = 0; j < k; j++) sum += Math.exp(logits[base + j] - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(k);
  for (let j = 0; j < k; j++) out[j] = logits[base + j] - lse;
  return out;
}

function checkShapes(logits: ArrayLike<number>, n: number, k: number, labels: ArrayLike<number | bigint>): void {
  if (logits.length !== n * k) throw new RangeError(`logits: expected length ${n * k}, got ${logits.length}`);
  if (labels.length !== n) throw new RangeError(`labels: expected length ${n}, got ${labels.length}`);
}

/** Mean loss over the batch and the count of rows whose first arg-max equals the label. */
export function crossEntropyForward(
  logits: ArrayLike<number>,
  n: number,
  k: number,
  labels: ArrayLike<number | bigint>,
  labelSmoothing = 0,
): { loss: number; correct: number } {
  checkShapes(logits, n, k, labels);
  let total = 0;
  let correct = 0;
  for (let r = 0; r < n; r++) {
    const y = labelAt(labels, r, k);
    const lp = logSoftmaxRow(logits, r, k);
    let meanNll = 0;
    for (let j = 0; j < k; j++) meanNll -= lp[j];
    meanNll /= k;
    total += (1 - labelSmoothing) * -lp[y] + labelSmoothing * meanNll;
    let arg = 0;
    for (let j = 1; j < k; j++) if (logits[r * k + j] > logits[r * k + arg]) arg = j;
    if (arg === y) correct++;
  }
  return { loss: total / n, correct };
}

/** d(mean loss)/d logits = (softmax - ((1 - eps) * onehot + eps / K)) / N. */
export function crossEntropyBackward(
  logits: ArrayLike<number>,
  n: number,
  k: number,
  labels: ArrayLike<number | bigint>,
  labelSmoothing = 0,
): Float64Array {
  checkShapes(logits, n, k, labels);
  const d = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    const y = labelAt(labels, r, k);
    const lp = logSoftmaxRow(logits, r, k);
    for (let j = 0; j < k; j++) {
      const target = (j === y ? 1 - labelSmoothing : 0) + labelSmoothing / k;
      d[r * k + j] = (Math.exp(lp[j]) - target) / n;
    }
  }
  return d;
}
