import test from 'ava';
import * as fs from 'node:fs';
import { FASHION_MNIST_DIR, loadFashionMnist, loadFashionMnistSync, type DatasetSplits } from '../../lib/data';

// The real data set, where Debian's dataset-fashion-mnist package is installed.
const present = fs.existsSync(FASHION_MNIST_DIR);
const title = 'Fashion-MNIST from /usr/share/datasets: counts, shape, balanced labels';

if (!present) test.skip(`${title} (skipped: ${FASHION_MNIST_DIR} is absent; apt-get install dataset-fashion-mnist)`, () => undefined);
else test(title, async (t) => {
  const splits = await loadFashionMnist();
  const { train, test: tst } = splits;
  t.is(train.count, 60000);
  t.is(tst.count, 10000);
  for (const ds of [train, tst]) {
    t.deepEqual([ds.height, ds.width, ds.channels], [28, 28, 1]);
    t.is(ds.images.length, ds.count * 784);
    t.is(ds.labels.length, ds.count);
  }
  const perClass = new Array<number>(10).fill(0);
  for (const l of train.labels) perClass[l]++;
  t.deepEqual(perClass, new Array<number>(10).fill(6000));
  const testPerClass = new Array<number>(10).fill(0);
  for (const l of tst.labels) testPerClass[l]++;
  t.deepEqual(testPerClass, new Array<number>(10).fill(1000));
  // Real pictures: some dark background, some bright pixels.
  t.true(train.images.subarray(0, 784).some((b) => b > 200));
  t.is(train.images[0], 0);
  // The blocking loader reads the same bytes.
  const sync: DatasetSplits = loadFashionMnistSync();
  for (const split of ['train', 'test'] as const) {
    t.true(Buffer.from(sync[split].images).equals(Buffer.from(splits[split].images)), `${split} images`);
    t.true(Buffer.from(sync[split].labels).equals(Buffer.from(splits[split].labels)), `${split} labels`);
  }
});
