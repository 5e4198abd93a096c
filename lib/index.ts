/**
 * senet: SE-ResNeXt training and inference for Node.js on oneDNN (CPU) and cuDNN (CUDA).
 */
import { binding } from './binding';

export { SenetError, type SenetErrorCode } from './errors';
export {
  Tensor,
  tensor,
  empty,
  zeros,
  ones,
  full,
  fill,
  fillNormal,
  fillUniform,
  randn,
  rand,
  copy,
  type DType,
  type Device,
  type TypedArray,
  type TypedArrayOf,
  type DTypeOf,
  type TensorOptions,
  type CreateOptions,
  type RandomOptions,
} from './tensor';
export { ParameterArena, type ArenaEntry, type ArenaSpec } from './arena';
export {
  backends,
  cudaConvolutionAlgorithms,
  resolveDevice,
  selectCudaDevice,
  synchronize,
  setNumThreads,
  resetNumThreads,
  getNumThreads,
  type BackendsReport,
  type CpuReport,
  type CudaReport,
  type CudaDeviceReport,
  type ConvolutionAlgorithms,
  type LibraryReport,
  type DeviceRequest,
} from './backends';
export { kaimingNormal, fans, type KaimingOptions } from './init';
export { PRECISIONS, checkPrecision, precisionSupport, defaultTrainingPrecision, type Precision } from './precision';
export { memory, type MemoryInfo } from './memory';
export { loadModel, type LoadModelOptions } from './predict/load';
export { topK, type Prediction, type PredictOptions } from './predict/predict';
export { imagesToBatch, type Preprocessing } from './predict/preprocessing';
export { decodeImage, type ImageInput, type RawImage, type ImageGeometry } from './images/decode';
export * as ops from './ops';
export * from './nn';
export * from './optim';
export * as data from './data';
export * as io from './io';
export { exportOnnx, onnxBytes, ONNX_OPSET, ONNX_IR_VERSION, type OnnxExportOptions } from './export/onnx';
export * from './train';

/** What the native addon was built with and runs on (oneDNN version, CPU ISA, CUDA built or not). */
export function buildInfo(): ReturnType<typeof binding.buildInfo> {
  return binding.buildInfo();
}
