/** Training: the Trainer, its progress display, the curves picture. */
export {
  Trainer,
  AbortError,
  loadTrainingCheckpoint,
  type TrainerOptions,
  type EvaluateOptions,
  type FitData,
  type FitResult,
  type EpochMetrics,
  type BatchInfo,
  type BatchSource,
  type TrainBatch,
  type TrainingPosition,
  type TrainingCheckpoint,
} from './trainer';
export { makeProgress, type ProgressMode } from './progress';
export { curvesSvg, type CurvePoint } from './curves';
export { runTraining, runEvaluation, presetOf, DEFAULT_RUN, RUN_OPTION_RULES, RUNS_DIR, checkRunOptions, type RunOptions, type RunOptionKey, type RunSummary } from './run';
export { RunFolder, newRunFolder, LOCK_FILE, RUN_FILES } from './run_folder';
