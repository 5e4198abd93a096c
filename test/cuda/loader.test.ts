import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { backends, type BackendsReport } from '../../lib';

// The loader's error paths run on any machine whose build has CUDA: they need no GPU.
const built = backends().cuda.built;
const cudaTest = (title: string, fn: (t: ExecutionContext) => void): void => {
  if (built) test(title, fn);
  else test.skip(`${title} [skipped: this build of senet has no CUDA backend]`, fn);
};

function reportWith(env: Record<string, string>): BackendsReport {
  const lib = path.join(__dirname, '..', '..', 'lib');
  const out = execFileSync(process.execPath, ['-e', `process.stdout.write(JSON.stringify(require(${JSON.stringify(lib)}).backends()))`], {
    env: { ...process.env, ...env },
  });
  return JSON.parse(out.toString()) as BackendsReport;
}

cudaTest('a cuDNN or cuBLAS file that does not exist is named in the reason, and CUDA is not offered', (t) => {
  const r = reportWith({ SENET_CUDNN_LIBRARY: '/nonexistent/libcudnn.so.9', SENET_CUBLAS_LIBRARY: '/nonexistent/libcublas.so.13' });
  t.false(r.cuda.available);
  t.false(r.cuda.cudnn.loaded);
  t.regex(r.cuda.cudnn.reason, /not found at SENET_CUDNN_LIBRARY=\/nonexistent\/libcudnn\.so\.9/);
  t.deepEqual(r.cuda.cudnn.tried.length, 1);
  t.regex(r.cuda.cublas.reason, /\/nonexistent\/libcublas\.so\.13/);
  t.true(r.cuda.reason.length > 0);
});

cudaTest('a library that is not cuDNN is refused with the function it lacks', (t) => {
  const r = reportWith({ SENET_CUDNN_LIBRARY: 'libm.so.6' });
  t.false(r.cuda.cudnn.loaded);
  t.is(r.cuda.cudnn.path, 'libm.so.6');
  t.regex(r.cuda.cudnn.reason, /cudnnGetVersion is missing from libm\.so\.6/);
});

cudaTest('without every part, the reason says what is missing and device auto picks the CPU', (t) => {
  const r = backends();
  if (r.cuda.available) {
    t.is(r.cuda.reason, '');
    t.true(r.cuda.devices.length > 0);
    t.true(r.cuda.cudnn.loaded && r.cuda.cublas.loaded);
  } else {
    t.true(r.cuda.reason.length > 0);
    const { resolveDevice } = require('../../lib') as typeof import('../../lib');
    t.is(resolveDevice('auto'), 'cpu');
  }
});
