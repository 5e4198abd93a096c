/**
 * Every bf16 op on the GPU against the float64 reference on the same bf16-rounded inputs, with the
 * CPU's cases and tolerances (test/ops/bf16_cases.ts): cuDNN's BFLOAT16 convolutions (float32
 * accumulation) and senet's bf16 kernels for batch norm, the SE block, pooling, the add and SGD's
 * weight copy. Skipped, with the reason, where there is no usable GPU.
 */
import { cudaConvolutionAlgorithms } from '../../lib';
import { convCaseTests, opCaseTests } from '../ops/bf16_cases';
import { bf16Test } from '../ops/bf16_support';

convCaseTests('cuDNN', 'cuda');
opCaseTests('cuda');

bf16Test('the bf16 convolutions ran with algorithms cuDNN reports by name, each direction measured once per shape', (t) => {
  const bf16 = cudaConvolutionAlgorithms().filter((a) => a.shape.endsWith('bfloat16'));
  t.true(bf16.length > 0, 'the bf16 shapes above are planned');
  for (const a of bf16) {
    t.regex(a.forward, /^[A-Z_0-9]+$/, `${a.shape}: forward`);
    t.log(`${a.shape}: ${a.forward} / ${a.backwardData || '-'} / ${a.backwardFilter || '-'}, ${a.workspace} B`);
  }
}, 'cuda');
