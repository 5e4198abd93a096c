// One SGD step over a flat parameter range, torch.optim.SGD's arithmetic, one pass.
#include "ops/sgd.h"

#include "core/bf16.h"

namespace senet::cpu {

namespace {

// copy: the bf16 weight copy to rewrite, or null (no branch inside the loop either way).
template <bool kCopy>
void step_as(const SgdParams& p, int64_t n, float* w, const float* g, float* buf, bf16* copy) {
  const float lr = p.lr, wd = p.weight_decay, mu = p.momentum, damp = 1.f - p.dampening;
  if (mu == 0.f) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const float v = w[i] - lr * (g[i] + wd * w[i]);
      w[i] = v;
      if constexpr (kCopy) copy[i] = to_bf16(v);
    }
    return;
  }
  const bool first = p.first_step, nesterov = p.nesterov;
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float d = g[i] + wd * w[i];
    const float b = first ? d : mu * buf[i] + damp * d;
    buf[i] = b;
    const float v = w[i] - lr * (nesterov ? d + mu * b : b);
    w[i] = v;
    if constexpr (kCopy) copy[i] = to_bf16(v);
  }
}

void step(const SgdParams& p, int64_t n, float* w, const float* g, float* buf, bf16* copy) {
  if (copy) step_as<true>(p, n, w, g, buf, copy);
  else step_as<false>(p, n, w, g, buf, nullptr);
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
