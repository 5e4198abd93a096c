#include "cuda/kernels.cuh"

namespace senet::cuda {

__global__ void channel_sum_kernel(const float* x, float* y, int64_t hw, int64_t c, float scale) {
  __shared__ float partial[8][32];
  const int64_t ch = blockIdx.y * int64_t{32} + threadIdx.x;
  const int64_t n = blockIdx.x;
  float acc = 0.f;
  if (ch < c) {
    const float* base = x + n * hw * c + ch;
    for (int64_t q = threadIdx.y; q < hw; q += 8) acc += base[q * c];
  }
  partial[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && ch < c) {
    float sum = 0.f;
    for (int r = 0; r < 8; ++r) sum += partial[r][threadIdx.x];
    y[n * c + ch] = sum * scale;
  }
}

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
