import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

// Compiles test/cuda/check_declarations.cc against the real cuDNN and cuBLAS headers wherever
// they are (the GPU machine has them in its Python packages; SENET_CUDNN_INCLUDE and
// SENET_CUBLAS_INCLUDE may name the folders). Skips, saying so, where they are absent.
const root = path.join(__dirname, '..', '..', '..');

function pythonPackageInclude(pkg: string): string | undefined {
  const r = spawnSync('python3', ['-c', `import importlib,os; m=importlib.import_module('nvidia.${pkg}'); print(os.path.join(list(m.__path__)[0],'include'))`]);
  const dir = r.status === 0 ? r.stdout.toString().trim() : '';
  return dir && fs.existsSync(dir) ? dir : undefined;
}

function findInclude(envVar: string, header: string, pkg: string): string | undefined {
  const candidates = [process.env[envVar], pythonPackageInclude(pkg), '/usr/include', '/usr/local/cuda/include', '/usr/include/x86_64-linux-gnu'];
  return candidates.find((d) => d && fs.existsSync(path.join(d, header)));
}

function findCudaInclude(): string | undefined {
  const nvcc = spawnSync('sh', ['-c', 'command -v nvcc']).stdout.toString().trim();
  const candidates = [process.env['CUDA_HOME'] && path.join(process.env['CUDA_HOME'], 'include'), nvcc && path.join(path.dirname(fs.realpathSync(nvcc)), '..', 'include'), '/usr/local/cuda/include'];
  return candidates.find((d) => d && fs.existsSync(path.join(d, 'cuda_runtime_api.h')));
}

function compiler(): string | undefined {
  return ['c++', 'g++', 'clang++'].find((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
}

const cudnn = findInclude('SENET_CUDNN_INCLUDE', 'cudnn.h', 'cudnn');
const cublas = findInclude('SENET_CUBLAS_INCLUDE', 'cublas_v2.h', 'cublas');
const cudaInc = findCudaInclude();
const cxx = compiler();
const missing = [!cudnn && 'cudnn.h', !cublas && 'cublas_v2.h', !cudaInc && 'cuda_runtime_api.h', !cxx && 'a C++ compiler'].filter(Boolean);
const title = 'our cuDNN and cuBLAS declarations match the real headers (every signature and enum value)';

if (missing.length > 0) {
  test.skip(`${title} [skipped: ${missing.join(', ')} not found]`, () => {});
} else {
  test(title, (t) => {
    const args = ['-std=c++17', '-fsyntax-only', '-Wno-deprecated-declarations', `-I${path.join(root, 'native')}`, `-I${cudnn}`, `-I${cublas}`, `-I${cudaInc}`, path.join(root, 'test', 'cuda', 'check_declarations.cc')];
    try {
      execFileSync(cxx!, args, { stdio: 'pipe' });
      t.log(`checked against ${cudnn} and ${cublas}`);
      t.pass();
    } catch (err) {
      const e = err as { stderr?: Buffer };
      t.fail(`the declarations differ from the headers:\n${e.stderr?.toString() ?? String(err)}`);
    }
  });
}
