import test from 'ava';
import { memory, ops, randn, synchronize, zeros, ones } from '../lib';

// Resident memory must stay flat over many create/dispose cycles and many op calls with reused
// buffers. Slack allowed: 24 MiB of growth after warm-up (V8's heap and allocator pools move a
// little); a leak of the tensors themselves would be hundreds of MiB. Ops run on the executor,
// so memory is measured once the queue has drained (memory released but not yet freed is
// bounded by the queue's length; a test below checks that bound).
const SLACK = 24 * 1024 * 1024;
const MiB = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

test.serial('ten thousand create/dispose cycles leave resident memory flat', (t) => {
  const cycle = () => {
    const a = zeros([64, 1024]); // 256 KiB each: 10,000 leaked would be 2.5 GiB
    const b = randn([64, 1024], { seed: 1 });
    const v = a.view(0, [1024]);
    v.dispose();
    a.dispose();
    b.dispose();
  };
  for (let i = 0; i < 500; i++) cycle();
  synchronize();
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 10000; i++) cycle();
  synchronize();
  const growth = process.memoryUsage().rss - before;
  t.log(`rss growth ${MiB(growth)}`);
  t.true(growth < SLACK, `rss grew ${MiB(growth)}`);
});

test.serial('a thousand forward/backward calls with reused buffers leave resident memory flat', (t) => {
  const x = randn([4, 16, 16, 32], { seed: 1 });
  const w = randn([64, 3, 3, 8], { seed: 2, std: 0.1 });
  const gamma = ones([64]);
  const beta = zeros([64]);
  const rm = zeros([64]);
  const rv = ones([64]);
  const se = { w1: randn([8, 64], { seed: 3 }), b1: zeros([8]), w2: randn([64, 8], { seed: 4 }), b2: zeros([64]) };
  const fwd = ops.convBnForward({ x, w, gamma, beta, runningMean: rm, runningVar: rv }, { padding: 1, groups: 4 });
  const seOut = ops.seForward(fwd.y, se);
  const dy = randn(seOut.y.shape, { seed: 5 });
  const seGrads = ops.seBackward(dy, { u: fwd.y, ...seOut }, se);
  const convGrads = ops.convBnBackward(seGrads.du, { x, w, gamma, z: fwd.z!, y: fwd.y, saveMean: fwd.saveMean!, saveVar: fwd.saveVar! }, { padding: 1, groups: 4 });
  const step = () => {
    ops.convBnForward({ x, w, gamma, beta, runningMean: rm, runningVar: rv }, { padding: 1, groups: 4 }, fwd);
    ops.seForward(fwd.y, se, null, seOut);
    ops.seBackward(dy, { u: fwd.y, ...seOut }, se, seGrads);
    ops.convBnBackward(seGrads.du, { x, w, gamma, z: fwd.z!, y: fwd.y, saveMean: fwd.saveMean!, saveVar: fwd.saveVar! }, { padding: 1, groups: 4 }, convGrads);
  };
  for (let i = 0; i < 50; i++) step();
  synchronize();
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 1000; i++) step();
  synchronize();
  const growth = process.memoryUsage().rss - before;
  t.log(`rss growth ${MiB(growth)}`);
  t.true(growth < SLACK, `rss grew ${MiB(growth)}`);
});

// Tensors nobody disposes: the garbage collector's finalisers release them (inside the collector,
// so even a loop that never yields frees them), and what only queued work still holds is bounded.
const BOUND = 512 * 1024 * 1024;

test.serial('a thousand undisposed 4 MiB tensors in a synchronous loop keep resident memory bounded', (t) => {
  synchronize();
  const before = process.memoryUsage().rss;
  let peak = 0;
  for (let i = 0; i < 1000; i++) {
    zeros([1024 * 1024]); // 4 GiB in all if nothing were freed
    if (i % 25 === 0) peak = Math.max(peak, process.memoryUsage().rss - before);
  }
  t.log(`peak rss growth ${MiB(peak)} (4,000 MiB allocated)`);
  t.true(peak < BOUND, `rss grew ${MiB(peak)}`);
});

test.serial('undisposed tensors in a loop with awaits keep resident memory bounded', async (t) => {
  synchronize();
  const before = process.memoryUsage().rss;
  let peak = 0;
  for (let i = 0; i < 600; i++) {
    const x = randn([1024 * 1024], { seed: i });
    if (i % 5 === 0) await x.data();
    if (i % 25 === 0) peak = Math.max(peak, process.memoryUsage().rss - before);
  }
  t.log(`peak rss growth ${MiB(peak)} (2,400 MiB allocated)`);
  t.true(peak < BOUND, `rss grew ${MiB(peak)}`);
});

test.serial('memory() counts live tensors and their bytes; dispose and using release them', (t) => {
  synchronize();
  const start = memory();
  const a = zeros([256, 256]);
  const v = a.view(0, [16]);
  const during = memory();
  t.is(during.numTensors - start.numTensors, 1, 'a view shares its tensor');
  t.is(during.cpuBytes - start.cpuBytes, 256 * 256 * 4);
  t.is(a.bytes, 256 * 256 * 4);
  a.dispose();
  t.true(v.disposed, 'a view of a disposed tensor is disposed');
  {
    using b = ones([1000]);
    t.is(b.size, 1000);
  }
  synchronize();
  const end = memory();
  t.is(end.numTensors, start.numTensors);
  t.is(end.cpuBytes, start.cpuBytes);
});
