#include "cuda/kernels.cuh"

namespace senet::cuda {

__global__ void column_sum_kernel(const float* m, float* out, int64_t rows, int64_t cols) {
  for (int64_t o = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; o < cols; o += int64_t{gridDim.x} * blockDim.x) {
    float acc = 0.f;
    for (int64_t r = 0; r < rows; ++r) acc += m[r * cols + o];
    out[o] = acc;
  }
}

__global__ void add_bias_kernel(float* y, const float* b, int64_t rows, int64_t cols, bool relu) {
  const int64_t total = rows * cols;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const float v = y[i] + b[i % cols];
    y[i] = relu && v < 0.f ? 0.f : v;
  }
}

}  // namespace senet::cuda
