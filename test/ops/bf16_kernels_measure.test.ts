/** The bf16 convolution cases with kernels chosen per shape by timing (SENET_BF16_KERNELS=measure, read once per process). */
import './kernels_measure_env';
import { convCaseTests } from './bf16_cases';

convCaseTests('kernels chosen by timing');
