// One SGD step over a flat parameter range in one kernel launch: torch.optim.SGD's arithmetic,
// four floats per load where the three buffers are 16-byte aligned (arena entries are).
#include "cuda/context.h"
#include "cuda/launch.h"
#include "ops/dispatch.h"
#include "ops/sgd.h"

namespace senet::cuda {

namespace {

struct Rule {
  float lr, wd, mu, damp;
  bool first, nesterov, momentum;

  __device__ __forceinline__ float step(float w, float g, float* buf) const {
    float d = g + wd * w;
    if (momentum) {
      float b = first ? d : mu * *buf + damp * d;
      *buf = b;
      d = nesterov ? d + mu * b : b;
    }
    return w - lr * d;
  }
};

// skip: the training loop's non-finite flag, written earlier on the stream; the step is a no-op
// when it is set.
__global__ void sgd_kernel(float* w, const float* g, float* buf, int64_t n, Rule r, const int* skip) {
  if (skip && *skip) return;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    float scratch = 0.f;
    w[i] = r.step(w[i], g[i], buf ? buf + i : &scratch);
  }
}

__global__ void sgd_kernel4(float4* w, const float4* g, float4* buf, int64_t n4, Rule r, const int* skip) {
  if (skip && *skip) return;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n4; i += int64_t{gridDim.x} * blockDim.x) {
    float4 wv = w[i], gv = g[i];
    float4 bv = buf ? buf[i] : make_float4(0.f, 0.f, 0.f, 0.f);
    wv.x = r.step(wv.x, gv.x, &bv.x);
    wv.y = r.step(wv.y, gv.y, &bv.y);
    wv.z = r.step(wv.z, gv.z, &bv.z);
    wv.w = r.step(wv.w, gv.w, &bv.w);
    w[i] = wv;
    if (buf) buf[i] = bv;
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

void sgd_step(const SgdStep& a) {
  const SgdParams& p = a.p;
  const Tensor &param = a.param, &grad = a.grad;
  const Tensor* momentum_buf = opt(a.momentum_buffer);
  const int* skip = a.skip.storage ? a.skip.data<int>() : nullptr;
  const int64_t n = param.numel();
  if (n == 0) return;
  Rule r{p.lr, p.weight_decay, p.momentum, 1.f - p.dampening, p.first_step, p.nesterov, p.momentum != 0.f};
  float* w = param.data<float>();
  const float* g = grad.data<float>();
  float* buf = r.momentum ? momentum_buf->data<float>() : nullptr;
  cudaStream_t s = Context::get().stream();
  if (n % 4 == 0 && aligned16(w) && aligned16(g) && (!buf || aligned16(buf))) {
    sgd_kernel4<<<blocks_for(n / 4), kThreads, 0, s>>>(reinterpret_cast<float4*>(w), reinterpret_cast<const float4*>(g),
                                                       reinterpret_cast<float4*>(buf), n / 4, r, skip);
  } else {
    sgd_kernel<<<blocks_for(n), kThreads, 0, s>>>(w, g, buf, n, r, skip);
  }
  SENET_CUDA_LAUNCHED();
}

}  // namespace senet::cuda
