/** The network: layers, SE-ResNeXt, presets and createModel. */
export { createModel, type ModelOptions } from './create';
export { PRESETS, checkConfig, type ModelName, type SEResNeXtConfig } from './config';
export { SEResNeXt, type StateDict, type StateTensor, type LoadOptions, type InputLayout, type StatisticsSnapshot } from './seresnext';
export { seHiddenWidth } from './squeeze_excite';
export { bottleneckWidth } from './bottleneck';
