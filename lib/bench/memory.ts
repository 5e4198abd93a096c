/**
 * Peak memory of this process: resident (the kernel's high-water mark, plus samples of the current
 * RSS) and, on CUDA, GPU memory as nvidia-smi reports it for this process (context included,
 * sampled between measurements: senet has no native query of its own pool yet).
 */
import { spawnSync } from 'node:child_process';

/** The kernel's peak resident set size of this process, in bytes. */
export function peakRssBytes(): number {
  // maxRSS is in kilobytes.
  return Math.max(process.resourceUsage().maxRSS * 1024, process.memoryUsage.rss());
}

/** This process's GPU memory in bytes (nvidia-smi), or null when it cannot be read. */
export function gpuProcessBytes(pid = process.pid): number | null {
  const r = spawnSync('nvidia-smi', ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0 || typeof r.stdout !== 'string') return null;
  for (const line of r.stdout.split('\n')) {
    const [p, mib] = line.split(',').map((s) => s.trim());
    if (p === String(pid) && mib !== undefined && /^\d+$/.test(mib)) return Number(mib) * 2 ** 20;
  }
  return null;
}

/** Keeps the largest of the samples taken. */
export class PeakSampler {
  private rss = 0;
  private gpu: number | null = null;

  constructor(private readonly cuda: boolean) {}

  /** Takes one sample (cheap for RSS; a process spawn for the GPU, so call it between timed runs). */
  sample(): void {
    this.rss = Math.max(this.rss, peakRssBytes());
    if (this.cuda) {
      const g = gpuProcessBytes();
      if (g !== null) this.gpu = Math.max(this.gpu ?? 0, g);
    }
  }

  get peakRssBytes(): number {
    return Math.max(this.rss, peakRssBytes());
  }

  get peakGpuBytes(): number | null {
    return this.gpu;
  }
}
