/** The bf16 convolution cases with oneDNN's bf16 kernels (SENET_BF16_KERNELS=bf16, read once per process). */
import './kernels_bf16_env';
import { convCaseTests } from './bf16_support';

convCaseTests("oneDNN's bf16 kernels");
