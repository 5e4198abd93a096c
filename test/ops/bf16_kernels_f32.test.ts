/** The bf16 convolution cases with float32 kernels on converted copies (SENET_BF16_KERNELS=f32, read once per process). */
import './kernels_f32_env';
import { convCaseTests } from './bf16_cases';

convCaseTests('float32 kernels on converted copies');
