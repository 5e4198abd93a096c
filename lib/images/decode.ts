/**
 * Images to model input: decoding (PNG, JPEG, WebP and whatever else sharp reads), the size and
 * channels a model was trained with, and normalisation into senet's channels-last layout.
 *
 * The geometry follows torchvision's evaluation transform, Resize then CenterCrop: an image of
 * another size is scaled so that it covers the target (its shorter side reaching it, the aspect
 * kept) and the centre is cut out; an image of the target size is used as it is. Colour images
 * become gray by luminance for a 1-channel model; gray ones are repeated for a 3-channel one;
 * alpha is dropped.
 */
import * as fs from 'node:fs';
import { SenetError } from '../errors';
import { checkInt, describe, fail } from '../validate';
import { sharp } from './sharp';

/** Raw pixels, channels interleaved (e.g. a canvas's ImageData: RGBA, 4 channels). */
export interface RawImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** Default 4 (ImageData) when data holds width·height·4 bytes, else 3 or 1 as the length says. */
  channels?: 1 | 2 | 3 | 4;
}

/** An image: a file path, the bytes of an image file, or raw pixels. */
export type ImageInput = string | Uint8Array | RawImage;

/** The input a model takes: height, width and channels (1: gray, 3: RGB). */
export interface ImageGeometry {
  height: number;
  width: number;
  channels: number;
}

/** Checks a geometry; returns a copy. */
export function checkGeometry(where: string, g: ImageGeometry): ImageGeometry {
  if (g === null || typeof g !== 'object') fail('SENET_ARGUMENT', where, 'geometry', 'an object { height, width, channels }', describe(g));
  const height = checkInt(where, 'height', g.height, 1, 16384);
  const width = checkInt(where, 'width', g.width, 1, 16384);
  const channels = checkInt(where, 'channels', g.channels, 1, 3);
  if (channels === 2) fail('SENET_ARGUMENT', where, 'channels', '1 (gray) or 3 (RGB)', '2');
  return { height, width, channels };
}

function describeInput(input: ImageInput): string {
  return typeof input === 'string' ? input : input instanceof Uint8Array ? `an image of ${input.length} bytes` : 'raw pixels';
}

function rawChannels(where: string, raw: RawImage): 1 | 2 | 3 | 4 {
  const w = checkInt(where, 'image.width', raw.width, 1);
  const h = checkInt(where, 'image.height', raw.height, 1);
  if (!(raw.data instanceof Uint8Array || raw.data instanceof Uint8ClampedArray)) {
    fail('SENET_ARGUMENT', where, 'image.data', 'a Uint8Array or Uint8ClampedArray', describe(raw.data));
  }
  const c = raw.channels ?? (raw.data.length === w * h * 4 ? 4 : raw.data.length === w * h * 3 ? 3 : 1);
  if (![1, 2, 3, 4].includes(c)) fail('SENET_ARGUMENT', where, 'image.channels', '1, 2, 3 or 4', describe(raw.channels));
  if (raw.data.length !== w * h * c) fail('SENET_SHAPE', where, 'image.data', `${w * h * c} bytes (${w}x${h}x${c})`, `${raw.data.length}`);
  return c as 1 | 2 | 3 | 4;
}

/**
 * Decodes an image into (height, width, channels) bytes of the geometry. SENET_IO when a file
 * cannot be read, SENET_FORMAT when the bytes are not an image sharp can decode.
 */
export async function decodeImage(input: ImageInput, geometry: ImageGeometry, where = 'decodeImage'): Promise<Uint8Array> {
  const { height, width, channels } = geometry;
  const s = sharp();
  let img: import('sharp').Sharp;
  if (typeof input === 'string') {
    try {
      await fs.promises.access(input, fs.constants.R_OK);
    } catch (err) {
      throw new SenetError('SENET_IO', `${where}: ${input}: cannot read: ${(err as Error).message}`);
    }
    img = s(input, { failOn: 'error' });
  } else if (input instanceof Uint8Array) {
    img = s(input, { failOn: 'error' });
  } else if (input !== null && typeof input === 'object') {
    const c = rawChannels(where, input);
    const bytes = input.data;
    img = s(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { raw: { width: input.width, height: input.height, channels: c } });
  } else {
    return fail('SENET_ARGUMENT', where, 'image', 'a file path, the bytes of an image file, or { data, width, height }', describe(input));
  }
  let out: { data: Buffer; info: import('sharp').OutputInfo };
  try {
    const meta = await img.metadata();
    if (meta.width !== width || meta.height !== height) img = img.resize(width, height, { fit: 'cover', position: 'centre' });
    img = channels === 1 ? img.grayscale() : img.removeAlpha().toColourspace('srgb');
    out = await img.raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new SenetError('SENET_FORMAT', `${where}: ${describeInput(input)}: expected an image sharp can decode (PNG, JPEG, WebP, …), received one it refuses: ${(err as Error).message}`);
  }
  let data = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
  if (out.info.channels !== channels) data = convertChannels(data, out.info.channels, channels);
  if (data.length !== height * width * channels) {
    throw new SenetError('SENET_INTERNAL', `${where}: sharp gave ${out.info.width}x${out.info.height}x${out.info.channels} for ${width}x${height}x${channels}`);
  }
  return data;
}

// sharp keeps a gray image gray through toColourspace('srgb') on some inputs, and may leave an
// alpha channel on gray ones: the last step to the channel count asked.
function convertChannels(src: Uint8Array, from: number, to: number): Uint8Array {
  const n = src.length / from;
  const out = new Uint8Array(n * to);
  for (let i = 0; i < n; i++) {
    if (to === 1) out[i] = src[i * from]!;
    else for (let c = 0; c < to; c++) out[i * to + c] = src[i * from + (from >= 3 ? c : 0)]!;
  }
  return out;
}

/** (byte / 255 − mean) / std per channel, into `out` at `offset` (floats), channels-last. */
export function normalizeInto(bytes: Uint8Array, mean: readonly number[], std: readonly number[], out: Float32Array, offset: number): void {
  const c = mean.length;
  for (let i = 0; i < bytes.length; i++) {
    const ch = i % c;
    out[offset + i] = (bytes[i]! / 255 - mean[ch]!) / std[ch]!;
  }
}
