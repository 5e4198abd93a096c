/**
 * sharp, loaded on first use: images are decoded with it (PNG, JPEG, WebP …, resized by libvips).
 * It is a dependency of senet; where it could not be installed (a platform without its prebuilt
 * binaries), the first image call says so with SENET_NO_SHARP instead of failing at load.
 */
import { SenetError } from '../errors';

/** The part of sharp's interface senet uses. */
export type SharpModule = typeof import('sharp').default;

let loaded: SharpModule | undefined;

/** The sharp module, or SENET_NO_SHARP with how to install it. */
export function sharp(): SharpModule {
  if (loaded) return loaded;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require('sharp') as SharpModule;
    return loaded;
  } catch (err) {
    throw new SenetError(
      'SENET_NO_SHARP',
      `senet: images are decoded with sharp, which could not be loaded (${(err as Error).message.split('\n')[0]}); ` +
        'install it beside senet with `npm install sharp` (prebuilt for Linux, macOS and Windows on x64 and arm64)',
    );
  }
}
