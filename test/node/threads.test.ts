import test from 'ava';
import { backends, createModel, getNumThreads, randn, setNumThreads } from '../../lib';
import { maxRelError } from '../reference';

test.serial('setNumThreads sets the threads of the CPU backend; results do not depend on them', async (t) => {
  const before = getNumThreads();
  t.true(before >= 1);
  t.is(backends().cpu.threads, before);
  const model = createModel('seresnext26_32x4d', { device: 'cpu', numClasses: 10, inChannels: 3, stem: 'cifar', seed: 5 });
  model.eval();
  const x = randn([2, 16, 16, 3], { seed: 6 });
  try {
    const many = await model.forward(x).data();
    setNumThreads(1);
    t.is(getNumThreads(), 1);
    t.is(backends().cpu.threads, 1);
    const one = await model.forward(x).data();
    t.true(maxRelError(Array.from(one), Array.from(many)) < 1e-5);
    t.throws(() => setNumThreads(0), { code: 'SENET_ARGUMENT' });
    t.throws(() => setNumThreads(1.5), { code: 'SENET_ARGUMENT' });
  } finally {
    setNumThreads(before);
    x.dispose();
    model.dispose();
  }
  t.is(getNumThreads(), before);
});
