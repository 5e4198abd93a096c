/**
 * Loads the native addon: a local build under `build/` when there is one, otherwise the prebuilt
 * binary under `prebuilds/<platform>-<arch>/` (found by node-gyp-build; no install script needed).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NativeBinding } from '../binding';
import { SenetError } from './errors';

const root = path.join(__dirname, '..', '..');

function load(): NativeBinding {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    return nodeGypBuild(root) as NativeBinding;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const target = `${process.platform}-${process.arch}`;
    const hasPrebuild = fs.existsSync(path.join(root, 'prebuilds', target));
    const what = hasPrebuild
      ? `the prebuilt binary for ${target} could not be loaded`
      : `senet has no prebuilt binary for ${target} (prebuilt: linux-x64 with glibc)`;
    throw new SenetError(
      'SENET_NATIVE_LOAD',
      `senet: ${what} (Node ${process.version}): ${reason.split('\n')[0]}. ` +
        `To build it from source, in ${root} run \`npx cmake-js@8 compile\` ` +
        '(it needs cmake, a C++ compiler and oneDNN: `apt-get install cmake g++ libdnnl-dev` on Debian or Ubuntu; ' +
        'the CUDA backend is built too when nvcc is on the PATH); in a clone of the repository, `npm run build`.',
    );
  }
}

/** The native addon, loaded once. */
export const binding: NativeBinding = load();
