// Pooling on the GPU: max pooling through cuDNN (NHWC), global average pooling with our kernels
// (a reduction over H, W that reads each row of C channels coalesced).
#include <mutex>

#include "cuda/context.h"
#include "cuda/descriptors.h"
#include "cuda/launch.h"
#include "ops/conv_bn.h"
#include "ops/pool.h"

namespace senet::cuda {

TensorDescriptor::TensorDescriptor(int64_t n, int64_t c, int64_t h, int64_t w) : api_(require_cudnn()) {
  const int ni = to_int(n, "tensor descriptor: N"), ci = to_int(c, "tensor descriptor: C");
  const int hi = to_int(h, "tensor descriptor: H"), wi = to_int(w, "tensor descriptor: W");
  SENET_CUDNN_CHECK(api_.cudnnCreateTensorDescriptor(&desc_));
  dyn::cudnnStatus_t st = api_.cudnnSetTensor4dDescriptor(desc_, dyn::CUDNN_TENSOR_NHWC, dyn::CUDNN_DATA_FLOAT, ni, ci, hi, wi);
  if (st != dyn::CUDNN_STATUS_SUCCESS) {
    api_.cudnnDestroyTensorDescriptor(desc_);
    throw_cudnn_error(st, "cudnnSetTensor4dDescriptor", __FILE__, __LINE__);
  }
}

TensorDescriptor::~TensorDescriptor() { api_.cudnnDestroyTensorDescriptor(desc_); }

PoolingDescriptor::PoolingDescriptor(dyn::cudnnPoolingMode_t mode, int kh, int kw, int ph, int pw, int sh, int sw)
    : api_(require_cudnn()) {
  SENET_CUDNN_CHECK(api_.cudnnCreatePoolingDescriptor(&desc_));
  dyn::cudnnStatus_t st = api_.cudnnSetPooling2dDescriptor(desc_, mode, dyn::CUDNN_PROPAGATE_NAN, kh, kw, ph, pw, sh, sw);
  if (st != dyn::CUDNN_STATUS_SUCCESS) {
    api_.cudnnDestroyPoolingDescriptor(desc_);
    throw_cudnn_error(st, "cudnnSetPooling2dDescriptor", __FILE__, __LINE__);
  }
}

PoolingDescriptor::~PoolingDescriptor() { api_.cudnnDestroyPoolingDescriptor(desc_); }

namespace {

struct MaxPoolPlan {
  TensorDescriptor x, y;
  PoolingDescriptor pool;
  MaxPoolPlan(const MaxPoolParams& p, const Shape& xs, const Shape& ys)
      : x(xs[0], xs[3], xs[1], xs[2]),
        y(ys[0], ys[3], ys[1], ys[2]),
        // Deterministic max: the gradient goes to one element per window, as on the CPU.
        pool(dyn::CUDNN_POOLING_MAX_DETERMINISTIC, p.kernel_h, p.kernel_w, p.pad_h, p.pad_w, p.stride_h, p.stride_w) {}
};

std::mutex g_plans_mutex;

MaxPoolPlan& plan_for(const MaxPoolParams& p, const Tensor& x, const Tensor& y) {
  // Never destroyed: at exit cuDNN may be unloaded before our statics would be.
  static auto* cache = new DescriptorCache<MaxPoolPlan>();
  to_int(x.numel(), "max pool: input elements");  // cuDNN's 4-d descriptors index with int
  std::string key;
  for (int64_t v : {x.dim(0), x.dim(1), x.dim(2), x.dim(3), int64_t{p.kernel_h}, int64_t{p.kernel_w},
                    int64_t{p.stride_h}, int64_t{p.stride_w}, int64_t{p.pad_h}, int64_t{p.pad_w}})
    key += std::to_string(v) + ":";
  std::lock_guard<std::mutex> lock(g_plans_mutex);
  return cache->get(key, [&] { return std::make_unique<MaxPoolPlan>(p, x.shape, y.shape); });
}

// Block: 32 channels x 8 partial rows; grid: (N, channel blocks), N on x which allows 2^31 - 1.
// Each thread sums every 8th position of its channel, then the 8 partial sums are added in
// shared memory.
__global__ void gap_forward_kernel(const float* x, float* y, int64_t hw, int64_t c, float inv_hw) {
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
    y[n * c + ch] = sum * inv_hw;
  }
}

__global__ void gap_backward_kernel(const float* dy, float* dx, int64_t hw, int64_t c, int64_t total, float inv_hw) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ch = i % c;
    const int64_t n = i / (hw * c);
    dx[i] = dy[n * c + ch] * inv_hw;
  }
}

}  // namespace

void max_pool_forward(const MaxPoolParams& p, const Tensor& x, Tensor& y) {
  Context& ctx = Context::get();
  const CudnnApi& api = require_cudnn();
  MaxPoolPlan& plan = plan_for(p, x, y);
  const float one = 1.f, zero = 0.f;
  SENET_CUDNN_CHECK(api.cudnnPoolingForward(ctx.cudnn(), plan.pool.get(), &one, plan.x.get(), x.raw(), &zero,
                                            plan.y.get(), y.raw()));
}

void max_pool_backward(const MaxPoolParams& p, const Tensor& dy, const Tensor& x, const Tensor& y, Tensor& dx) {
  Context& ctx = Context::get();
  const CudnnApi& api = require_cudnn();
  MaxPoolPlan& plan = plan_for(p, x, y);
  const float one = 1.f, zero = 0.f;
  SENET_CUDNN_CHECK(api.cudnnPoolingBackward(ctx.cudnn(), plan.pool.get(), &one, plan.y.get(), y.raw(), plan.y.get(),
                                             dy.raw(), plan.x.get(), x.raw(), &zero, plan.x.get(), dx.raw()));
}

void global_avg_pool_forward(const Tensor& x, Tensor& y) {
  const int64_t n = x.dim(0), hw = x.dim(1) * x.dim(2), c = x.dim(3);
  dim3 block(32, 8), grid(static_cast<unsigned>(n), static_cast<unsigned>((c + 31) / 32));
  gap_forward_kernel<<<grid, block, 0, Context::get().stream()>>>(x.data<float>(), y.data<float>(), hw, c,
                                                                   1.f / static_cast<float>(hw));
  SENET_CUDA_LAUNCHED();
}

void global_avg_pool_backward(const Tensor& dy, Tensor& dx) {
  const int64_t hw = dx.dim(1) * dx.dim(2), c = dx.dim(3), total = dx.numel();
  gap_backward_kernel<<<blocks_for(total), kThreads, 0, Context::get().stream()>>>(
      dy.data<float>(), dx.data<float>(), hw, c, total, 1.f / static_cast<float>(hw));
  SENET_CUDA_LAUNCHED();
}

}  // namespace senet::cuda
