/**
 * Run as a child process by loader.test: breaks out of an epoch and then closes the loader (or,
 * with "noclose", doesn't). The test checks that the process then exits by itself: no handle left.
 */
import { BatchLoader } from '../../lib/data';
import { syntheticDataset } from './helpers';

async function main(): Promise<void> {
  const close = process.argv[2] !== 'noclose';
  const loader = new BatchLoader(syntheticDataset(500, 8, 8, 3), {
    batchSize: 16,
    shuffle: true,
    augment: { cropPadding: 2, flip: true, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
    seed: 3,
    workers: 2,
    prefetch: 4,
  });
  let n = 0;
  for await (const batch of loader.epoch(0)) {
    n += batch.size;
    if (batch.index === 3) break;
  }
  const inFlight = loader.inFlight;
  if (close) {
    await loader.close();
    await loader.close();
  }
  console.log(JSON.stringify({ images: n, inFlight, closed: close }));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
