/**
 * Reference squeeze-and-excitation block. u (N, HW, C) channels-last; w1 (R, C), b1 (R),
 * w2 (C, R), b2 (C). Optional shortcut s fuses the residual add and ReLU: y = relu(u * gate + s).
 */

interface SeForward {
  y: Float64Array;
  pooled: Float64Array;
  hidden: Float64Array;
  gate: Float64Array;
  /** u * gate + s before the final ReLU (only meaningful with a shortcut). */
  pre: Float64Array;
}

function checkShapes(
  u: ArrayLike<number>,
  n: number,
  hw: number,
  c: number,
  w1: ArrayLike<number>,
  b1: ArrayLike<number>,
  w2: ArrayLike<number>,
  b2: ArrayLike<number>,
  shortcut: ArrayLike<number> | undefined,
): void {
  const r = b1.length;
  const want: [string, ArrayLike<number> | undefined, number][] = [
    ['u', u, n * hw * c],
    ['w1', w1, r * c],
    ['w2', w2, c * r],
    ['b2', b2, c],
    ['shortcut', shortcut, n * hw * c],
  ];
  for (const [name, a, len] of want) {
    if (a !== undefined && a.length !== len) throw new RangeError(`${name}: expected length ${len}, got ${a.length}`);
  }
}

function forward(
  u: ArrayLike<number>,
  n: number,
  hw: number,
  c: number,
  w1: ArrayLike<number>,
  b1: ArrayLike<number>,
  w2: ArrayLike<number>,
  b2: ArrayLike<number>,
  shortcut: ArrayLike<number> | undefined,
): SeForward {
  checkShapes(u, n, hw, c, w1, b1, w2, b2, shortcut);
  const R = b1.length;
  const pooled = new Float64Array(n * c);
  for (let b = 0; b < n; b++) {
    for (let q = 0; q < hw; q++) {
      for (let k = 0; k < c; k++) pooled[b * c + k] += u[(b * hw + q) * c + k];
    }
    for (let k = 0; k < c; k++) pooled[b * c + k] /= hw;
  }
  const hidden = new Float64Array(n * R);
  const gate = new Float64Array(n * c);
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < R; r++) {
      let s = b1[r];
      for (let k = 0; k < c; k++) s += w1[r * c + k] * pooled[b * c + k];
      hidden[b * R + r] = s > 0 ? s : 0;
    }
    for (let k = 0; k < c; k++) {
      let s = b2[k];
      for (let r = 0; r < R; r++) s += w2[k * R + r] * hidden[b * R + r];
      gate[b * c + k] = 1 / (1 + Math.exp(-s));
    }
  }
  const y = new Float64Array(u.length);
  const pre = new Float64Array(u.length);
  for (let b = 0; b < n; b++) {
    for (let q = 0; q < hw; q++) {
      for (let k = 0; k < c; k++) {
        const i = (b * hw + q) * c + k;
        const v = u[i] * gate[b * c + k];
        if (shortcut === undefined) {
          pre[i] = v;
          y[i] = v;
        } else {
          pre[i] = v + shortcut[i];
          y[i] = pre[i] > 0 ? pre[i] : 0;
        }
      }
    }
  }
  return { y, pooled, hidden, gate, pre };
}

/** SE forward; returns the output and the intermediates pooled (N, C), hidden (N, R), gate (N, C). */
export function seForward(
  u: ArrayLike<number>,
  n: number,
  hw: number,
  c: number,
  w1: ArrayLike<number>,
  b1: ArrayLike<number>,
  w2: ArrayLike<number>,
  b2: ArrayLike<number>,
  shortcut?: ArrayLike<number>,
): { y: Float64Array; pooled: Float64Array; hidden: Float64Array; gate: Float64Array } {
  const { y, pooled, hidden, gate } = forward(u, n, hw, c, w1, b1, w2, b2, shortcut);
  return { y, pooled, hidden, gate };
}

/** SE backward (recomputes the forward); dshortcut is present only when a shortcut is given. */
export function seBackward(
  dy: ArrayLike<number>,
  u: ArrayLike<number>,
  n: number,
  hw: number,
  c: number,
  w1: ArrayLike<number>,
  b1: ArrayLike<number>,
  w2: ArrayLike<number>,
  b2: ArrayLike<number>,
  shortcut?: ArrayLike<number>,
): {
  du: Float64Array;
  dshortcut?: Float64Array;
  dw1: Float64Array;
  db1: Float64Array;
  dw2: Float64Array;
  db2: Float64Array;
} {
  if (dy.length !== u.length) throw new RangeError(`dy length ${dy.length} != u length ${u.length}`);
  const R = b1.length;
  const { pooled, hidden, gate, pre } = forward(u, n, hw, c, w1, b1, w2, b2, shortcut);

  // Gradient w.r.t. u * gate (+ s): through the fused ReLU when there is a shortcut.
  const dpre = new Float64Array(u.length);
  for (let i = 0; i < u.length; i++) dpre[i] = shortcut === undefined || pre[i] > 0 ? dy[i] : 0;

  const du = new Float64Array(u.length);
  const dgate = new Float64Array(n * c);
  for (let b = 0; b < n; b++) {
    for (let q = 0; q < hw; q++) {
      for (let k = 0; k < c; k++) {
        const i = (b * hw + q) * c + k;
        du[i] = dpre[i] * gate[b * c + k];
        dgate[b * c + k] += dpre[i] * u[i];
      }
    }
  }

  const dw1 = new Float64Array(R * c);
  const db1 = new Float64Array(R);
  const dw2 = new Float64Array(c * R);
  const db2 = new Float64Array(c);
  const da2 = new Float64Array(c);
  const da1 = new Float64Array(R);
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < c; k++) {
      const gk = gate[b * c + k];
      da2[k] = dgate[b * c + k] * gk * (1 - gk); // sigmoid'
      db2[k] += da2[k];
      for (let r = 0; r < R; r++) dw2[k * R + r] += da2[k] * hidden[b * R + r];
    }
    for (let r = 0; r < R; r++) {
      let s = 0;
      for (let k = 0; k < c; k++) s += w2[k * R + r] * da2[k];
      da1[r] = hidden[b * R + r] > 0 ? s : 0; // relu' from its output
      db1[r] += da1[r];
      for (let k = 0; k < c; k++) dw1[r * c + k] += da1[r] * pooled[b * c + k];
    }
    for (let k = 0; k < c; k++) {
      let dp = 0;
      for (let r = 0; r < R; r++) dp += w1[r * c + k] * da1[r];
      // The mean over HW spreads dpooled evenly to every spatial position.
      const share = dp / hw;
      for (let q = 0; q < hw; q++) du[(b * hw + q) * c + k] += share;
    }
  }

  const result: {
    du: Float64Array;
    dshortcut?: Float64Array;
    dw1: Float64Array;
    db1: Float64Array;
    dw2: Float64Array;
    db2: Float64Array;
  } = { du, dw1, db1, dw2, db2 };
  if (shortcut !== undefined) result.dshortcut = dpre;
  return result;
}
