// One SGD step over a flat parameter range, torch.optim.SGD's arithmetic, one pass.
#include "ops/sgd.h"

#include "core/bf16.h"
#include "ops/maths.h"

namespace senet::cpu {

namespace {

// Momentum and the bf16 copy as template flags: no branch on either inside the loop.
template <bool kMomentum, bool kCopy>
void step_as(const SgdRule& r, int64_t n, float* w, const float* g, float* buf, bf16* copy) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float b = kMomentum ? buf[i] : 0.f;
    const float v = r.step(w[i], g[i], b);
    if constexpr (kMomentum) buf[i] = b;
    w[i] = v;
    if constexpr (kCopy) copy[i] = to_bf16(v);
  }
}

void step(const SgdParams& p, int64_t n, float* w, const float* g, float* buf, bf16* copy) {
  const SgdRule r = SgdRule::of(p);
  if (r.momentum) {
    if (copy) step_as<true, true>(r, n, w, g, buf, copy);
    else step_as<true, false>(r, n, w, g, buf, nullptr);
  } else {
    if (copy) step_as<false, true>(r, n, w, g, nullptr, copy);
    else step_as<false, false>(r, n, w, g, nullptr, nullptr);
  }
}

}  // namespace

void sgd_step(const SgdStep& a) {
  // The skip flag was written by an earlier op in this queue: it is final when this step runs.
  if (a.skip.storage && *a.skip.data<int32_t>() != 0) return;
  const SgdParams& p = a.p;
  const int64_t n = a.param.numel();
  float* w = a.param.data<float>();
  const float* g = a.grad.data<float>();
  float* buf = a.momentum_buffer.storage ? a.momentum_buffer.data<float>() : nullptr;
  step(p, n, w, g, buf, a.param_copy.storage ? a.param_copy.data<bf16>() : nullptr);
}

}  // namespace senet::cpu
