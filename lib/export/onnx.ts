/**
 * Export to ONNX: a model's inference graph (opset 17, IR version 8) with its weights, for
 * onnxruntime, TensorRT and the browser. The protobuf is written by protobufjs from ONNX's schema
 * (see onnx_schema.ts); the graph itself is built in onnx_graph.ts.
 */
import type { SEResNeXt } from '../nn/seresnext';
import { writeFileAtomicAsync } from '../io/atomic';
import { SenetError } from '../errors';
import { checkInt, checkOptions, describe, fail } from '../validate';
import { buildOnnxModel, type Dim } from './onnx_graph';
import { onnxTypes } from './onnx_schema';

export { ONNX_IR_VERSION, ONNX_OPSET } from './onnx_graph';

/** Options of exportOnnx and onnxBytes. */
export interface OnnxExportOptions {
  /**
   * Height and width the graph's input declares: one side (square images), `[height, width]`,
   * or `'dynamic'` for symbolic dimensions named "height" and "width" (the network itself takes
   * any size; fixed sizes let runtimes such as TensorRT plan ahead). Default: 224 for the
   * 'imagenet' stem, 32 for the 'cifar' stem. The batch dimension is always dynamic ("batch").
   */
  inputSize?: number | readonly [number, number] | 'dynamic';
  /**
   * Key/value strings for the model's metadata_props (e.g. class names, mean and std as JSON).
   * senet always writes `senet.config`, the model's config as JSON; a key given here replaces it.
   */
  metadata?: Readonly<Record<string, string>>;
}

const MAX_SIDE = 1 << 16;

function inputDims(where: string, config: SEResNeXt['config'], size: OnnxExportOptions['inputSize']): [Dim, Dim] {
  if (size === undefined) return config.stem === 'imagenet' ? [224, 224] : [32, 32];
  if (size === 'dynamic') return ['height', 'width'];
  if (typeof size === 'number') {
    const side = checkInt(where, 'options.inputSize', size, 1, MAX_SIDE);
    return [side, side];
  }
  if (!Array.isArray(size) || size.length !== 2) {
    fail('SENET_ARGUMENT', where, 'options.inputSize', "a side, [height, width] or 'dynamic'", describe(size));
  }
  return [checkInt(where, 'options.inputSize[0]', size[0], 1, MAX_SIDE), checkInt(where, 'options.inputSize[1]', size[1], 1, MAX_SIDE)];
}

function metadataEntries(where: string, metadata: unknown): Array<[string, string]> {
  if (metadata === undefined) return [];
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    fail('SENET_ARGUMENT', where, 'options.metadata', 'an object of strings', describe(metadata));
  }
  return Object.entries(metadata).map(([key, value]) => {
    if (typeof value !== 'string') fail('SENET_ARGUMENT', where, `options.metadata.${key}`, 'a string', describe(value));
    return [key, value];
  });
}

function checkModel(where: string, model: unknown): SEResNeXt {
  const m = model as Partial<SEResNeXt> | null;
  if (m === null || typeof m !== 'object' || typeof m.readStateDict !== 'function' || typeof m.config !== 'object') {
    fail('SENET_ARGUMENT', where, 'model', 'an SEResNeXt (from createModel())', describe(model));
  }
  return m as SEResNeXt;
}

function packageVersion(): string | undefined {
  try {
    // dist/lib/export/onnx.js → the package's own package.json (as the CLI reads it).
    return (require('../../../package.json') as { version?: string }).version;
  } catch {
    return undefined;
  }
}

async function encode(where: string, model: unknown, options: OnnxExportOptions | undefined): Promise<Uint8Array> {
  const m = checkModel(where, model);
  const o = checkOptions(where, options);
  const [height, width] = inputDims(where, m.config, o.inputSize);
  const metadata = metadataEntries(where, o.metadata);
  const types = await onnxTypes();
  const state = await m.readStateDict(); // the values after the work queued so far
  const message = buildOnnxModel({ config: m.config, state, height, width, metadata, producerVersion: packageVersion() });
  return types.ModelProto.encode(message).finish();
}

/**
 * The model as ONNX bytes (a ModelProto): an inference graph in NCHW — batch norm with its
 * running statistics, the SE block as GlobalAveragePool → Conv 1×1 → Relu → Conv 1×1 → Sigmoid →
 * Mul — whose float32 input `input` is (batch, inChannels, H, W) with a dynamic batch, and whose
 * output `logits` is (batch, numClasses). Weights are the model's values after the work queued
 * so far (read without blocking), stored as initializers named by timm's state-dict keys.
 * Errors: SENET_ARGUMENT for bad arguments (message "onnxBytes: what: expected …, received …").
 */
export function onnxBytes(model: SEResNeXt, options?: OnnxExportOptions): Promise<Uint8Array> {
  return encode('onnxBytes', model, options);
}

/**
 * Writes onnxBytes(model, options) to `path`, atomically (a temporary file renamed over it), so
 * that a reader never sees a partial file. Errors: SENET_ARGUMENT for bad arguments, SENET_IO
 * when the file cannot be written (the message names the path and the system error).
 */
export async function exportOnnx(model: SEResNeXt, path: string, options?: OnnxExportOptions): Promise<void> {
  const where = 'exportOnnx';
  if (typeof path !== 'string' || path.length === 0) fail('SENET_ARGUMENT', where, 'path', 'a non-empty string', describe(path));
  const bytes = await encode(where, model, options);
  try {
    await writeFileAtomicAsync(path, bytes);
  } catch (err) {
    if (err instanceof SenetError) throw new SenetError(err.code, `${where}: ${err.message}`);
    throw err;
  }
}
