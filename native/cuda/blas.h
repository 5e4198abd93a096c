// The three products of a fully connected layer, in senet's row-major layouts, on cuBLAS
// (float32; TF32 tensor-core math only when tf32 is set). Row-major (N, In) · (Out, In)^T is cuBLAS's column-major y^T = w x^T, so
// no transposed copies are made. Used by the linear layer and the SE block's fc layers.
#pragma once

#include <cstdint>

namespace senet::cuda {

/// y (N, Out) = x (N, In) · w (Out, In)^T
void gemm_forward(int64_t n, int64_t in, int64_t out, const float* x, const float* w, float* y, bool tf32 = false);
/// dx (N, In) = dy (N, Out) · w (Out, In)
void gemm_backward_data(int64_t n, int64_t in, int64_t out, const float* dy, const float* w, float* dx, bool tf32 = false);
/// dw (Out, In) = dy (N, Out)^T · x (N, In)
void gemm_backward_weights(int64_t n, int64_t in, int64_t out, const float* dy, const float* x, float* dw, bool tf32 = false);

}  // namespace senet::cuda
