/**
 * File I/O: safetensors reading and writing, atomic file replacement, checkpoints.
 */
export { writeFileAtomic, writeFileAtomicAsync, removeStaleTemporaryFiles, processAlive, systemMessage } from './atomic';
export {
  parseSafetensors,
  readSafetensors,
  readSafetensorsAsync,
  serializeSafetensors,
  writeSafetensors,
  writeSafetensorsAsync,
  toFloat32,
  toBigInt64,
  dtypeSize,
  type SafetensorsDType,
  type SafetensorsTensor,
  type SafetensorsFile,
  type TensorToWrite,
} from './safetensors';
export { saveCheckpoint, saveCheckpointAsync, loadCheckpoint, loadCheckpointAsync, type Checkpoint, type CheckpointTensors } from './checkpoint';
export { readWeights, readWeightsSync, writeWeights, WEIGHTS_FORMAT, type WeightsFile } from './weights';
