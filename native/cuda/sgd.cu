// One SGD step over a flat parameter range in one kernel launch: torch.optim.SGD's arithmetic
// (ops/maths.h, shared with the CPU), four floats per load where the buffers are aligned (arena
// entries are).
#include "core/bf16.h"
#include "cuda/context.h"
#include "cuda/launch.h"
#include "ops/dispatch.h"
#include "ops/maths.h"
#include "ops/sgd.h"

namespace senet::cuda {

namespace {

// The bf16 copy of the weights, when there is one, is rewritten from the updated float32 values
// in the same pass (kCopy: no branch on it in the loop).
// skip: the training loop's non-finite flag, written earlier on the stream; the step is a no-op
// when it is set.
template <bool kCopy>
__global__ void sgd_kernel(float* w, const float* g, float* buf, bf16* copy, int64_t n, SgdRule r, const int* skip) {
  if (skip && *skip) return;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    float b = buf ? buf[i] : 0.f;
    const float v = r.step(w[i], g[i], b);
    if (buf) buf[i] = b;
    w[i] = v;
    if constexpr (kCopy) copy[i] = to_bf16(v);
  }
}

// Four floats per load (and four bf16 values per 8-byte store of the copy).
template <bool kCopy>
__global__ void sgd_kernel4(float4* w, const float4* g, float4* buf, uint2* copy, int64_t n4, SgdRule r, const int* skip) {
  if (skip && *skip) return;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n4; i += int64_t{gridDim.x} * blockDim.x) {
    float4 wv = w[i], gv = g[i];
    float4 bv = buf ? buf[i] : make_float4(0.f, 0.f, 0.f, 0.f);
    wv.x = r.step(wv.x, gv.x, bv.x);
    wv.y = r.step(wv.y, gv.y, bv.y);
    wv.z = r.step(wv.z, gv.z, bv.z);
    wv.w = r.step(wv.w, gv.w, bv.w);
    w[i] = wv;
    if (buf) buf[i] = bv;
    if constexpr (kCopy) {
      const auto pair = [](float lo, float hi) {
        return static_cast<uint32_t>(to_bf16(lo).bits) | (static_cast<uint32_t>(to_bf16(hi).bits) << 16);
      };
      copy[i] = make_uint2(pair(wv.x, wv.y), pair(wv.z, wv.w));
    }
  }
}

bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

template <bool kCopy>
void launch(int64_t n, float* w, const float* g, float* buf, bf16* copy, const SgdRule& r, const int* skip, cudaStream_t s) {
  if (n % 4 == 0 && aligned(w, 16) && aligned(g, 16) && (!buf || aligned(buf, 16)) && (!copy || aligned(copy, 8))) {
    sgd_kernel4<kCopy><<<blocks_for(n / 4), kThreads, 0, s>>>(reinterpret_cast<float4*>(w), reinterpret_cast<const float4*>(g),
                                                              reinterpret_cast<float4*>(buf), reinterpret_cast<uint2*>(copy),
                                                              n / 4, r, skip);
  } else {
    sgd_kernel<kCopy><<<blocks_for(n), kThreads, 0, s>>>(w, g, buf, copy, n, r, skip);
  }
  SENET_CUDA_LAUNCHED();
}

}  // namespace

void sgd_step(const SgdStep& a) {
  const Tensor &param = a.param, &grad = a.grad;
  const int* skip = a.skip.storage ? a.skip.data<int>() : nullptr;
  const int64_t n = param.numel();
  if (n == 0) return;
  const SgdRule r = SgdRule::of(a.p);
  float* buf = r.momentum ? a.momentum_buffer.data<float>() : nullptr;
  bf16* copy = a.param_copy.storage ? a.param_copy.data<bf16>() : nullptr;
  cudaStream_t s = Context::get().stream();
  if (copy) launch<true>(n, param.data<float>(), grad.data<float>(), buf, copy, r, skip, s);
  else launch<false>(n, param.data<float>(), grad.data<float>(), buf, nullptr, r, skip, s);
}

}  // namespace senet::cuda
