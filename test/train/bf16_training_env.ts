// Imported first by bf16_training.test.ts, before senet loads: bf16's kernels fixed (rather than
// chosen by timing, which may differ run to run), so that each training run is reproducible.
process.env['SENET_BF16_KERNELS'] = 'bf16';
