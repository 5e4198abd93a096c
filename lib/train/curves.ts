/**
 * The training curves as an SVG picture: loss (left) and accuracy (right) per epoch, train and
 * validation. Plain SVG written by hand: two polylines per panel need no plotting library.
 */

/** One epoch's numbers. */
export interface CurvePoint {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss?: number;
  valAccuracy?: number;
}

const W = 940;
const H = 360;
const PANEL = { w: 380, h: 260, top: 50 };

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function panel(x0: number, title: string, series: { name: string; color: string; values: (number | undefined)[] }[], epochs: number[], percent: boolean): string {
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)));
  let lo = all.length ? Math.min(...all) : 0;
  let hi = all.length ? Math.max(...all) : 1;
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  const first = epochs[0] ?? 1;
  const last = epochs[epochs.length - 1] ?? 1;
  const sx = (e: number) => x0 + (last === first ? PANEL.w / 2 : ((e - first) / (last - first)) * PANEL.w);
  const sy = (v: number) => PANEL.top + PANEL.h - ((v - lo) / (hi - lo)) * PANEL.h;
  const fmt = (v: number) => (percent ? `${(v * 100).toFixed(1)}%` : v.toFixed(3));
  const parts = [
    `<text x="${x0 + PANEL.w / 2}" y="${PANEL.top - 18}" text-anchor="middle" font-size="15">${escape(title)}</text>`,
    `<rect x="${x0}" y="${PANEL.top}" width="${PANEL.w}" height="${PANEL.h}" fill="none" stroke="#999"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    const y = sy(v);
    parts.push(`<line x1="${x0}" x2="${x0 + PANEL.w}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${x0 - 6}" y="${y + 4}" text-anchor="end" font-size="11">${fmt(v)}</text>`);
  }
  for (const e of epochs) parts.push(`<text x="${sx(e)}" y="${PANEL.top + PANEL.h + 16}" text-anchor="middle" font-size="11">${e}</text>`);
  parts.push(`<text x="${x0 + PANEL.w / 2}" y="${PANEL.top + PANEL.h + 34}" text-anchor="middle" font-size="12">epoch</text>`);
  series.forEach((s, k) => {
    const pts = s.values.map((v, i) => (v === undefined || !Number.isFinite(v) ? null : `${sx(epochs[i]!)},${sy(v)}`)).filter((p): p is string => p !== null);
    if (pts.length) {
      parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
      for (const p of pts) {
        const [cx, cy] = p.split(',');
        parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${s.color}"/>`);
      }
    }
    parts.push(`<text x="${x0 + 10}" y="${PANEL.top + 18 + k * 16}" font-size="12" fill="${s.color}">${escape(s.name)}</text>`);
  });
  return parts.join('\n');
}

/** The SVG document for these epochs. */
export function curvesSvg(points: readonly CurvePoint[], title = 'training'): string {
  const epochs = points.map((p) => p.epoch);
  const loss = panel(70, 'loss', [
    { name: 'train', color: '#1f77b4', values: points.map((p) => p.trainLoss) },
    { name: 'validation', color: '#ff7f0e', values: points.map((p) => p.valLoss) },
  ], epochs, false);
  const acc = panel(530, 'accuracy', [
    { name: 'train', color: '#1f77b4', values: points.map((p) => p.trainAccuracy) },
    { name: 'validation', color: '#ff7f0e', values: points.map((p) => p.valAccuracy) },
  ], epochs, true);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="16">${escape(title)}</text>`,
    loss,
    acc,
    '</svg>',
    '',
  ].join('\n');
}
