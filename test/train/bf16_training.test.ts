/**
 * Mixed precision trains about as well as float32: the README's run (the default model and recipe)
 * on a Fashion-MNIST subset, same seeds and steps, in both precisions; bf16's mean test accuracy at
 * most 2 points below float32's. That bound catches a broken bf16 path (a divergence, a loss of
 * several points), not a subtle one: one short run is too chaotic to compare closely. Its accuracy
 * moves by up to 2.5 points with the last bits of any op (float32 against float32 with one thread
 * more differed by 1.0 point here), so the mean of three seeds still moves by about 0.9. Measured
 * on twenty seeds, 0-19 (2-core Xeon with AMX, 30 November 2026, with the first, FMA version of
 * senet's own grouped convolution): float32 mean 79.43 % (sd 1.18), bf16 79.16 % (sd 1.05); bf16
 * minus float32 seed by seed -0.27 points, sd 1.42, standard error 0.32. The final kernel (bf16
 * dot products) gives this model's bf16 runs the same bits as oneDNN's kernel did (seeds 0-5
 * repeat the figures of before it); its seeds 0-9: -0.46 points, standard error 0.53. Within the
 * issue's 0.5 points on average, and no difference the seeds can resolve.
 * The whole README run, 3 epochs of 58,000 images: 89.51 % in bf16 (before the grouped
 * convolution kernel), 89.68 % in float32. The team is fixed, so that each run is the same every
 * time on a machine.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backends, resetNumThreads, setNumThreads } from '../../lib';
import { FASHION_MNIST_DIR } from '../../lib/data';
import { runTraining } from '../../lib/train/run';
import { tempDir } from '../data/helpers';

const title = "bf16 training reaches float32's accuracy, within 2 points (Fashion-MNIST, 8,000 images, 2 epochs, mean of 3 seeds)";
const bf16 = backends().cpu.bf16;
const quiet = { write: () => true } as unknown as NodeJS.WriteStream;
const SEEDS = [0, 1, 2];

if (!fs.existsSync(FASHION_MNIST_DIR)) test.skip(`${title} [skipped: ${FASHION_MNIST_DIR} is absent; apt-get install dataset-fashion-mnist]`, () => undefined);
else if (!bf16.supported) test.skip(`${title} [skipped: ${bf16.reason}]`, () => undefined);
else test(title, async (t) => {
  setNumThreads(2);
  try {
    const mean: Record<string, number> = {};
    for (const precision of ['fp32', 'bf16'] as const) {
      const accuracies: number[] = [];
      for (const seed of SEEDS) {
        const out = path.join(tempDir(`senet-${precision}-`), 'run');
        const r = await runTraining({ precision, limit: 8000, epochs: 2, valCount: 0, seed, progress: 'none', out }, quiet);
        t.is(r.precision, precision);
        const epochs = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')
          .map((l) => JSON.parse(l) as { type: string; precision?: string }).filter((m) => m.type === 'epoch');
        t.is(epochs.length, 2);
        t.true(epochs.every((m) => m.precision === precision), 'metrics.jsonl names the precision of each epoch');
        accuracies.push(r.testAccuracy! * 100);
      }
      mean[precision] = accuracies.reduce((a, b) => a + b, 0) / accuracies.length;
      t.log(`${precision}: ${accuracies.map((a) => a.toFixed(2)).join(', ')} % (mean ${mean[precision]!.toFixed(2)})`);
    }
    const shortfall = mean['fp32']! - mean['bf16']!;
    t.true(mean['fp32']! > 70, 'the runs learn');
    t.true(shortfall <= 2, `mean test accuracy: bf16 ${mean['bf16']!.toFixed(2)} % against fp32 ${mean['fp32']!.toFixed(2)} % (${shortfall.toFixed(2)} points below)`);
  } finally {
    resetNumThreads();
  }
});
