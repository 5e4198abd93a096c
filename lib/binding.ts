/**
 * Loads the native addon: a prebuild under `prebuilds/` or a local build under `build/`, found
 * by node-gyp-build from the package root.
 */
import * as path from 'node:path';
import type { NativeBinding } from '../binding';
import { SenetError } from './errors';

function load(): NativeBinding {
  const root = path.join(__dirname, '..', '..');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    return nodeGypBuild(root) as NativeBinding;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new SenetError(
      'SENET_NATIVE_LOAD',
      `senet: the native addon could not be loaded for ${process.platform}-${process.arch} (Node ${process.version}): ${reason}. ` +
        'Build it from source with `npm run build` (needs cmake, a C++ compiler and libdnnl-dev; CUDA when nvcc is present).',
    );
  }
}

/** The native addon, loaded once. */
export const binding: NativeBinding = load();
