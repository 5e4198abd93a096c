// Fills (constant, seeded normal / uniform with the CPU's counter-based generator, so both
// backends give the same tensor for a seed) and element-wise add.
#include "core/rng.h"
#include "cuda/context.h"
#include "cuda/launch.h"
#include "ops/tensor_ops.h"

namespace senet::cuda {

namespace {

template <class T>
__global__ void fill_kernel(T* p, int64_t n, T value) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    p[i] = value;
}

__global__ void normal_kernel(float* p, int64_t n, float mean, float std, uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    p[i] = mean + std * normal01(seed, static_cast<uint64_t>(i));
}

__global__ void uniform_kernel(float* p, int64_t n, float low, float span, uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    p[i] = low + span * uniform01(seed, static_cast<uint64_t>(i));
}

__global__ void add_kernel(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    out[i] = a[i] + b[i];
}

__global__ void count_non_finite_kernel(const float* p, int64_t n, unsigned long long* count) {
  unsigned long long bad = 0;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    bad += !isfinite(p[i]);
  for (int o = 16; o > 0; o >>= 1) bad += __shfl_xor_sync(0xffffffffu, bad, o);
  if ((threadIdx.x & 31) == 0 && bad) atomicAdd(count, bad);
}

template <class T>
void launch_fill(Tensor& t, T value) {
  const int64_t n = t.numel();
  if (n == 0) return;
  fill_kernel<T><<<blocks_for(n), kThreads, 0, Context::get().stream()>>>(t.data<T>(), n, value);
  SENET_CUDA_LAUNCHED();
}

}  // namespace

void fill(Tensor& t, double value) {
  switch (t.dtype) {
    case DType::F32: return launch_fill<float>(t, static_cast<float>(value));
    case DType::I64: return launch_fill<int64_t>(t, static_cast<int64_t>(value));
    case DType::I32: return launch_fill<int32_t>(t, static_cast<int32_t>(value));
    case DType::U8: return launch_fill<uint8_t>(t, static_cast<uint8_t>(value));
  }
}

void fill_normal(Tensor& t, float mean, float std, uint64_t seed) {
  const int64_t n = t.numel();
  if (n == 0) return;
  normal_kernel<<<blocks_for(n), kThreads, 0, Context::get().stream()>>>(t.data<float>(), n, mean, std, seed);
  SENET_CUDA_LAUNCHED();
}

void fill_uniform(Tensor& t, float low, float high, uint64_t seed) {
  const int64_t n = t.numel();
  if (n == 0) return;
  uniform_kernel<<<blocks_for(n), kThreads, 0, Context::get().stream()>>>(t.data<float>(), n, low, high - low, seed);
  SENET_CUDA_LAUNCHED();
}

int64_t count_non_finite(const Tensor& t) {
  const int64_t n = t.numel();
  if (n == 0) return 0;
  Context& ctx = Context::get();
  auto* count = static_cast<unsigned long long*>(ctx.scratch(sizeof(unsigned long long)));
  SENET_CUDA_CHECK(cudaMemsetAsync(count, 0, sizeof(unsigned long long), ctx.stream()));
  count_non_finite_kernel<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(t.data<float>(), n, count);
  SENET_CUDA_LAUNCHED();
  unsigned long long host = 0;
  SENET_CUDA_CHECK(cudaMemcpyAsync(&host, count, sizeof host, cudaMemcpyDeviceToHost, ctx.stream()));
  SENET_CUDA_CHECK(cudaStreamSynchronize(ctx.stream()));
  return static_cast<int64_t>(host);
}

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  add_kernel<<<blocks_for(n), kThreads, 0, Context::get().stream()>>>(a.data<float>(), b.data<float>(), out.data<float>(), n);
  SENET_CUDA_LAUNCHED();
}

}  // namespace senet::cuda
