// Small kernels shared by several ops: per-channel means over H·W, column sums, bias (+ ReLU).
// Layouts are channels-last, so a warp reads 32 consecutive channels of one row: coalesced.
#pragma once

#include <cstdint>

#include "cuda/check.h"
#include "cuda/launch.h"

namespace senet::cuda {

// mean over q of x[n, q, c] for every (n, c); block (32, 8), grid (N, ceil(C / 32)).
// With `scale` = 1 / HW it is the mean; each thread sums every 8th position, then 8 partial sums
// are added in shared memory.
__global__ void channel_sum_kernel(const float* x, float* y, int64_t hw, int64_t c, float scale);

// out[o] = sum over rows r of m[r, o]: one thread per column, rows in order (deterministic).
__global__ void column_sum_kernel(const float* m, float* out, int64_t rows, int64_t cols);

// y[r, o] = act(y[r, o] + b[o]) with act = ReLU (NaN passes) or identity.
__global__ void add_bias_kernel(float* y, const float* b, int64_t rows, int64_t cols, bool relu);

inline void launch_channel_mean(const float* x, float* y, int64_t n, int64_t hw, int64_t c, cudaStream_t s) {
  dim3 block(32, 8), grid(static_cast<unsigned>(n), static_cast<unsigned>((c + 31) / 32));
  channel_sum_kernel<<<grid, block, 0, s>>>(x, y, hw, c, 1.f / static_cast<float>(hw));
  SENET_CUDA_LAUNCHED();
}

inline void launch_column_sum(const float* m, float* out, int64_t rows, int64_t cols, cudaStream_t s) {
  column_sum_kernel<<<blocks_for(cols), kThreads, 0, s>>>(m, out, rows, cols);
  SENET_CUDA_LAUNCHED();
}

inline void launch_add_bias(float* y, const float* b, int64_t rows, int64_t cols, bool relu, cudaStream_t s) {
  add_bias_kernel<<<blocks_for(rows * cols), kThreads, 0, s>>>(y, b, rows, cols, relu);
  SENET_CUDA_LAUNCHED();
}

}  // namespace senet::cuda
