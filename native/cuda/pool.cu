// Pooling on the GPU: max pooling through cuDNN (NHWC), global average pooling with our kernels
// (cuda/kernels.cu: a reduction over H, W that reads each row of C channels coalesced).
#include "cuda/context.h"
#include "cuda/descriptors.h"
#include "cuda/kernels.cuh"
#include "cuda/launch.h"
#include "ops/pool.h"

namespace senet::cuda {

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

MaxPoolPlan& plan_for(const MaxPoolParams& p, const Tensor& x, const Tensor& y) {
  // Never destroyed: at exit cuDNN may be unloaded before our statics would be.
  static auto* cache = new DescriptorCache<MaxPoolPlan>();
  to_int(x.numel(), "max pool: input elements");  // cuDNN's 4-d descriptors index with int
  std::string key;
  for (int64_t v : {x.dim(0), x.dim(1), x.dim(2), x.dim(3), int64_t{p.kernel_h}, int64_t{p.kernel_w},
                    int64_t{p.stride_h}, int64_t{p.stride_w}, int64_t{p.pad_h}, int64_t{p.pad_w}})
    key += std::to_string(v) + ":";
  return cache->get(key, [&] { return std::make_unique<MaxPoolPlan>(p, x.shape, y.shape); });
}

__global__ void gap_backward_kernel(const float* dy, float* dx, int64_t hw, int64_t c, int64_t total, float inv_hw) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ch = i % c;
    const int64_t n = i / (hw * c);
    dx[i] = dy[n * c + ch] * inv_hw;
  }
}

}  // namespace

void max_pool_forward(const MaxPoolForward& a) {
  const MaxPoolParams& p = a.p;
  const Tensor &x = a.x, &y = a.y;
  Context& ctx = Context::get();
  const CudnnApi& api = require_cudnn();
  MaxPoolPlan& plan = plan_for(p, x, y);
  const float one = 1.f, zero = 0.f;
  SENET_CUDNN_CHECK(api.cudnnPoolingForward(ctx.cudnn(), plan.pool.get(), &one, plan.x.get(), x.raw(), &zero,
                                            plan.y.get(), y.raw()));
}

void max_pool_backward(const MaxPoolBackward& a) {
  const MaxPoolParams& p = a.p;
  const Tensor &dy = a.dy, &x = a.x, &y = a.y, &dx = a.dx;
  Context& ctx = Context::get();
  const CudnnApi& api = require_cudnn();
  MaxPoolPlan& plan = plan_for(p, x, y);
  const float one = 1.f, zero = 0.f;
  SENET_CUDNN_CHECK(api.cudnnPoolingBackward(ctx.cudnn(), plan.pool.get(), &one, plan.y.get(), y.raw(), plan.y.get(),
                                             dy.raw(), plan.x.get(), x.raw(), &zero, plan.x.get(), dx.raw()));
}

void global_avg_pool_forward(const GlobalAvgPoolForward& a) {
  const Tensor &x = a.x, &y = a.y;
  launch_channel_mean(x.data<float>(), y.data<float>(), x.dim(0), x.dim(1) * x.dim(2), x.dim(3), Context::get().stream());
}

void global_avg_pool_backward(const GlobalAvgPoolBackward& a) {
  const Tensor &dy = a.dy, &dx = a.dx;
  const int64_t hw = dx.dim(1) * dx.dim(2), c = dx.dim(3), total = dx.numel();
  gap_backward_kernel<<<blocks_for(total), kThreads, 0, Context::get().stream()>>>(
      dy.data<float>(), dx.data<float>(), hw, c, total, 1.f / static_cast<float>(hw));
  SENET_CUDA_LAUNCHED();
}

}  // namespace senet::cuda
