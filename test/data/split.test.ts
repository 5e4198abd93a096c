import test from 'ava';
import { limitDataset, splitValidation } from '../../lib/data';
import { syntheticDataset, thrown } from './helpers';

const ds = syntheticDataset(200, 4, 3, 2);
const size = 4 * 3 * 2;

/** The original index of each image of `part`, found by its bytes (the synthetic images are distinct). */
function origins(part: typeof ds): number[] {
  const byKey = new Map<string, number>();
  for (let i = 0; i < ds.count; i++) byKey.set(ds.images.subarray(i * size, (i + 1) * size).join(','), i);
  const out: number[] = [];
  for (let i = 0; i < part.count; i++) {
    const o = byKey.get(part.images.subarray(i * size, (i + 1) * size).join(','));
    if (o === undefined) throw new Error(`image ${i} is not from the dataset`);
    if (part.labels[i] !== ds.labels[o]) throw new Error(`label of image ${i} lost`);
    out.push(o);
  }
  return out;
}

test('splitValidation: deterministic for a seed, disjoint, complete, labels follow images', (t) => {
  const a = splitValidation(ds, 50, 42);
  const b = splitValidation(ds, 50, 42);
  t.is(a.val.count, 50);
  t.is(a.train.count, 150);
  t.is(a.val.images.length, 50 * size);
  t.deepEqual(Array.from(a.val.images), Array.from(b.val.images));
  t.deepEqual(Array.from(a.train.labels), Array.from(b.train.labels));
  const val = origins(a.val);
  const train = origins(a.train);
  t.deepEqual([...val, ...train].sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i));
  t.deepEqual(val, val.slice().sort((x, y) => x - y), 'original order kept');
  const other = origins(splitValidation(ds, 50, 43).val);
  t.notDeepEqual(other, val);
  t.is(a.val.name, 'synthetic:val');
  t.deepEqual([a.val.height, a.val.width, a.val.channels], [4, 3, 2]);
});

test('splitValidation: edge counts and bad arguments', (t) => {
  t.is(splitValidation(ds, 0, 1).train.count, 200);
  t.is(splitValidation(ds, 200, 1).val.count, 200);
  t.is(thrown(() => splitValidation(ds, 201, 1)).code, 'SENET_ARGUMENT');
  t.is(thrown(() => splitValidation(ds, 10, 1.5)).code, 'SENET_ARGUMENT');
  t.is(thrown(() => splitValidation({ ...ds, count: 199 }, 10, 1)).code, 'SENET_ARGUMENT');
});

test('limitDataset: the first n images as views', (t) => {
  const l = limitDataset(ds, 10);
  t.is(l.count, 10);
  t.is(l.images.buffer, ds.images.buffer);
  t.is(l.images.length, 10 * size);
  t.deepEqual(Array.from(l.images), Array.from(ds.images.subarray(0, 10 * size)));
  t.deepEqual(Array.from(l.labels), Array.from(ds.labels.subarray(0, 10)));
  t.is(limitDataset(ds, 500), ds);
  t.is(limitDataset(ds, 0).count, 0);
  t.is(thrown(() => limitDataset(ds, -1)).code, 'SENET_ARGUMENT');
});
