/**
 * How long file I/O holds the event loop: the longest gap between ticks of a 5 ms `setInterval`
 * while a dataset loads or a ~100 MB safetensors file is saved and loaded, non-blocking (`loadDataset`,
 * `writeSafetensorsAsync` / `readSafetensorsAsync`) versus blocking (`loadDatasetSync`, `writeSafetensors`
 * / `readSafetensors`). Not part of CI.
 *
 *   npm run build:ts && node dist/bench/io_loop_delay.js [--repeats 3] [--mb 100] [--data DIR]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FASHION_MNIST_DIR, loadDataset, loadDatasetSync } from '../lib/data';
import { readSafetensors, readSafetensorsAsync, writeSafetensors, writeSafetensorsAsync, type TensorToWrite } from '../lib/io';

const INTERVAL_MS = 5;

/** One measurement: the longest gap between timer ticks while `work` ran, its wall time, and the ticks. */
interface Gap {
  gapMs: number;
  wallMs: number;
  ticks: number;
}

/** Runs `work` under a 5 ms interval timer and measures the longest gap between its ticks. */
async function longestGap(work: () => unknown): Promise<Gap> {
  let last = performance.now();
  let longest = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    ticks++;
  }, INTERVAL_MS);
  await sleep(4 * INTERVAL_MS); // the timer is running steadily
  longest = 0;
  ticks = 0;
  const start = performance.now();
  await work();
  const wallMs = performance.now() - start;
  // The gap a blocking call makes ends at the first tick after it.
  await sleep(2 * INTERVAL_MS);
  clearInterval(timer);
  return { gapMs: longest, wallMs, ticks };
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** About `mb` megabytes of F32 tensors in 8 MB pieces, as a checkpoint holds them. */
function bigTensors(mb: number): Record<string, TensorToWrite> {
  const out: Record<string, TensorToWrite> = {};
  const per = 2 * 1024 * 1024; // 8 MB of float32
  for (let i = 0, left = mb * 1024 * 1024; left > 0; i++, left -= per * 4) {
    const n = Math.min(per, Math.ceil(left / 4));
    const data = new Float32Array(n);
    for (let j = 0; j < n; j++) data[j] = Math.sin(i + j);
    out[`layer${i}.weight`] = { dtype: 'F32', shape: [n], data };
  }
  return out;
}

function row(label: string, runs: Gap[]): void {
  const f = (xs: number[]) => xs.map((x) => x.toFixed(1).padStart(7)).join(' ');
  console.log(`${label.padEnd(44)} longest gap ms: ${f(runs.map((r) => r.gapMs))}   wall ms: ${f(runs.map((r) => r.wallMs))}`);
}

async function main(): Promise<void> {
  const repeats = Number(arg('repeats', '3'));
  const mb = Number(arg('mb', '100'));
  const dataDir = arg('data', FASHION_MNIST_DIR);
  console.log(`node ${process.version}, ${os.cpus().length} CPUs, libuv threads ${process.env.UV_THREADPOOL_SIZE ?? 4}; timer every ${INTERVAL_MS} ms; ${repeats} runs each`);

  const measure = async (label: string, work: () => unknown) => {
    const runs: Gap[] = [];
    for (let i = 0; i < repeats; i++) runs.push(await longestGap(work));
    row(label, runs);
  };

  // The timer's own period and jitter, for scale: an idle loop shows gaps of about 5 ms.
  await measure('idle (sleep 250 ms)', () => sleep(250));
  if (fs.existsSync(dataDir)) {
    await measure("await loadDataset('fashion-mnist')", () => loadDataset('fashion-mnist', dataDir));
    await measure("loadDatasetSync('fashion-mnist')", () => loadDatasetSync('fashion-mnist', dataDir));
  } else {
    console.log(`(skipping the dataset: ${dataDir} is absent)`);
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'senet-io-bench-'));
  try {
    const tensors = bigTensors(mb);
    const file = path.join(dir, 'big.safetensors');
    await measure(`writeSafetensorsAsync (${mb} MB)`, () => writeSafetensorsAsync(file, tensors, { format: 'bench' }));
    await measure(`readSafetensorsAsync (${mb} MB)`, () => readSafetensorsAsync(file));
    await measure(`writeSafetensors, blocking (${mb} MB)`, () => writeSafetensors(file, tensors, { format: 'bench' }));
    await measure(`readSafetensors, blocking (${mb} MB)`, () => readSafetensors(file));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
