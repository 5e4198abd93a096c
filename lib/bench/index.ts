/**
 * The benchmark: `senet bench` (lib/cli.ts) is a thin shell over runBench().
 */
export { runBench, DEFAULT_BENCH, senetThreads, type BenchOptions, type BenchResult, type Breakdown, type Ratios, type PytorchFigures } from './run';
export { formatBench } from './report';
export { findTorchPython, pythonCandidates, runPytorch, PYTORCH_SCRIPT, type PytorchResult, type PytorchRun, type PytorchRunOptions, type TorchPython } from './pytorch';
export { peakRssBytes, gpuProcessBytes, PeakSampler } from './memory';
