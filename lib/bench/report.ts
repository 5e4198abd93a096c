/**
 * The benchmark's result as text: the figures side by side, the ratios, and the breakdown.
 */
import { OP_FAMILIES, type OpFamily } from '../profile';
import type { BenchResult } from './run';

const FAMILY_LABELS: Record<OpFamily, string> = {
  conv: 'conv + BN + ReLU',
  se: 'SE (+ add + ReLU)',
  pool: 'pooling',
  linear: 'linear',
  loss: 'loss',
  sgd: 'SGD',
  data: 'data',
  other: 'other (add, copies)',
};

const mib = (b: number | null | undefined) => (b === null || b === undefined ? '-' : `${(b / 2 ** 20).toFixed(0)} MiB`);
const num = (x: number | null | undefined, digits = 1) => (x === null || x === undefined ? '-' : x.toFixed(digits));
const times = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${x.toFixed(2)}x`);

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
}

/** The human-readable report. */
export function formatBench(r: BenchResult): string {
  const c = r.config;
  const lines: string[] = [];
  lines.push(
    `${c.model} (${c.parameters.toLocaleString('en-US')} parameters, ${c.stem} stem), ${c.size}x${c.size}x${c.channels}, batch ${c.batchSize}, ${c.classes} classes, ` +
      `precision ${c.precision}${c.precision === 'bf16' ? ' (mixed: bf16 activations, float32 weights and statistics)' : ''}; ` +
      `SGD momentum ${c.optimizer.momentum}, weight decay ${c.optimizer.weightDecay}`,
  );
  lines.push(`device: ${r.device.kind} — ${r.device.name}${r.device.isa ? ` (${r.device.isa})` : ''}, ${r.device.threads} thread(s)`);
  lines.push(`versions: ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(`median of ${c.repeats} repeats of ${c.steps} steps after ${c.warmup} warm-up steps`);
  if (r.error) lines.push(`senet failed: ${r.error.message}${r.error.code ? ` [${r.error.code}]` : ''}`);
  const p = r.pytorch;
  const runs = p?.runs ?? [];
  const header = ['', 'senet (NHWC)', ...runs.map((x) => `PyTorch (${x.memoryFormat === 'nchw' ? 'NCHW' : 'channels-last'})`), ...runs.map((x) => `senet / ${x.memoryFormat === 'nchw' ? 'NCHW' : 'ch-last'}`)];
  const widths = header.map((h, i) => Math.max(i === 0 ? 22 : 12, h.length));
  lines.push('');
  lines.push(row(header, widths));
  const figure = (label: string, ours: string, theirs: (x: (typeof runs)[number]) => string, rat: (fmt: string) => string) =>
    lines.push(row([label, ours, ...runs.map(theirs), ...runs.map((x) => rat(x.memoryFormat))], widths));
  figure('train images/s', num(r.trainImagesPerSecond), (x) => num(x.trainImagesPerSecond), (f) => times(p?.ratiosByFormat[f]?.trainImagesPerSecond));
  figure('inference images/s', num(r.inferImagesPerSecond), (x) => num(x.inferImagesPerSecond), (f) => times(p?.ratiosByFormat[f]?.inferImagesPerSecond));
  figure('peak RSS', mib(r.peakRssBytes), (x) => `${x.rssIncludesEarlierRuns ? '*' : ''}${mib(x.peakRssBytes)}`, (f) => times(p?.ratiosByFormat[f]?.peakRssBytes));
  figure('  runtime, before model', mib(r.baselineRssBytes), (x) => (x.rssIncludesEarlierRuns ? '-' : mib(x.baselineRssBytes)), () => '');
  if (r.device.kind === 'cuda') figure('peak GPU memory', mib(r.peakGpuBytes), (x) => mib(x.peakGpuBytes), (f) => times(p?.ratiosByFormat[f]?.peakGpuBytes));
  if (runs.some((x) => x.rssIncludesEarlierRuns)) lines.push('* measured in the same process after the NCHW run: its peak may be that run\'s');
  if (p) {
    lines.push(
      `PyTorch ${p.versions['torch']}: ${p.runs[0]?.network}, ${p.parameters.toLocaleString('en-US')} parameters, ${p.threads} thread(s) set with torch.set_num_threads ` +
        `(its default here: ${p.defaultThreads})${p.tf32 === null ? '' : `, TF32 ${p.tf32 ? 'on' : 'off'}`}` +
        `${p.runs[0]?.autocast ? `, torch.autocast(${p.runs[0].autocastDtype ?? 'bfloat16'}) with channels-last` : ''}${p.precisionNote ? ` (${p.precisionNote})` : ''}`,
    );
  } else {
    lines.push(`PyTorch: not run — ${r.pytorchReason}`);
  }

  const b = r.breakdown;
  if (b) {
    const pb = p?.breakdown ?? null;
    lines.push('');
    lines.push(`where a training step's time goes (ms per step; senet: ${b.method}${pb ? `; PyTorch: ${pb.method}` : ''})`);
    const h = ['', 'senet', ...(pb ? ['PyTorch', 'senet / PyTorch'] : [])];
    const w = [24, 10, 10, 16];
    lines.push(row(h, w));
    for (const f of OP_FAMILIES) {
      const ours = b.families[f];
      const theirs = pb?.families[f];
      lines.push(row([FAMILY_LABELS[f], num(ours), ...(pb ? [num(theirs), theirs ? times(ours / theirs) : '-'] : [])], w));
    }
    lines.push(row(['unaccounted (JS / Python)', num(b.unaccountedMs), ...(pb ? [num(pb.unaccountedMs), ''] : [])], w));
    lines.push(row(['step', num(b.stepMs), ...(pb ? [num(pb.stepMs), times(b.stepMs / pb.stepMs)] : [])], w));
    const top = Object.entries(b.ops).slice(0, 8);
    lines.push(`senet's slowest ops: ${top.map(([n, e]) => `${n} ${e.ms.toFixed(1)} ms (${e.calls}x)`).join(', ')}`);
    if (b.convolutionAlgorithms.length > 0) {
      lines.push(`cuDNN's convolution algorithms (forward / backward data / backward filter, workspace):`);
      for (const a of b.convolutionAlgorithms) {
        const ms = (v: number) => (v > 0 ? ` ${v.toFixed(2)} ms` : '');
        lines.push(`  ${a.shape}: ${a.forward || '-'}${ms(a.forwardMs)} / ${a.backwardData || '-'}${ms(a.backwardDataMs)} / ${a.backwardFilter || '-'}${ms(a.backwardFilterMs)}, ${(a.workspace / 2 ** 20).toFixed(1)} MiB`);
      }
    }
    const lib = b.convolutionLibraryMs;
    if (lib) {
      const sum = lib.forward + lib.backwardData + lib.backwardFilter;
      const family = b.families.conv;
      lines.push(
        `their measured times x calls: forward ${lib.forward.toFixed(1)}, backward data ${lib.backwardData.toFixed(1)}, backward filter ${lib.backwardFilter.toFixed(1)} ms per step` +
          ` (${sum.toFixed(1)} of conv + BN + ReLU's ${family.toFixed(1)}; the rest is senet's batch-norm kernels, casts and gaps` +
          `${lib.unmeasured > 0 ? `; ${lib.unmeasured} shape(s) without a measured time not counted` : ''})`,
      );
    }
  }
  return lines.join('\n') + '\n';
}
