// senet's own loops over bf16 data, compiled for AVX-512 (bf16_loops.cc says why that is safe):
// batch norm both ways, the SE block, the residual add, SGD's step that writes the bf16 weight
// copy, and the conversions of mixed precision's float32 kernels. Call them only for bf16 tensors, which run only on a CPU with
// avx512_core_bf16 (ops/precision.cc).
#pragma once

#include <cstdint>

#include "core/bf16.h"
#include "cpu/dnnl_context.h"
#include "ops/maths.h"
#include "ops/se.h"
#include "ops/tensor_ops.h"

namespace senet::cpu {

/// Training-mode batch norm (+ ReLU) over (rows, C) float32 z (the convolution's unrounded
/// output): batch mean and biased variance into mean / var, y in bf16, z's bf16 rounding kept.
void batch_norm_training(const float* z, bf16* y, bf16* z_keep, int64_t rows, int64_t c, const float* gamma,
                         const float* beta, float* mean, float* var, float eps, bool relu);

/// Its backward, with the ReLU's mask from y (null without a ReLU): dgamma, dbeta, and dz in bf16.
void batch_norm_backward(const bf16* dy, const bf16* y, const bf16* z, int64_t rows, int64_t c, const float* gamma,
                         const float* mean, const float* var, float eps, float* dgamma, float* dbeta, bf16* dz);

/// A float32 copy of `count` bf16 values in a scratch slot (exact), and the rounding back.
const float* to_float32(const void* src, int64_t count, Scratch slot);
const float* to_float32(const Tensor& t, Scratch slot);
void from_float32(const float* src, const Tensor& dst);

/// One SGD step (sgd.cc) that also rewrites the bf16 copy of the weights; buf is null without momentum.
void sgd_step_bf16_copy(const SgdRule& r, int64_t n, float* w, const float* g, float* buf, bf16* copy);

/// The ops' bf16 forms (se.cc and tensor_ops.cc dispatch bf16 tensors here).
void add_bf16(const Add& a);
void se_forward_bf16(const SeForward& a);
void se_backward_bf16(const SeBackward& a);

}  // namespace senet::cpu
