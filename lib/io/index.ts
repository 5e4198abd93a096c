/**
 * File I/O: safetensors reading and writing, atomic file replacement, checkpoints.
 */
export { writeFileAtomic } from './atomic';
export {
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
  toFloat32,
  toBigInt64,
  dtypeSize,
  type SafetensorsDType,
  type SafetensorsTensor,
  type SafetensorsFile,
  type TensorToWrite,
} from './safetensors';
export { saveCheckpoint, loadCheckpoint, type Checkpoint, type CheckpointTensors } from './checkpoint';
