// Imported first by bf16_kernels_measure.test.ts, before senet loads: its kernel choice is read once.
process.env['SENET_BF16_KERNELS'] = 'measure';
