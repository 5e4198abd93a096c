// One SGD step over a flat parameter range, torch.optim.SGD's arithmetic, one pass.
#include "ops/sgd.h"

#include "core/bf16.h"
#include "cpu/bf16_loops.h"
#include "ops/maths.h"

namespace senet::cpu {

namespace {

#include "cpu/sgd_loop.inc"

void step(const SgdParams& p, int64_t n, float* w, const float* g, float* buf, bf16* copy) {
  const SgdRule r = SgdRule::of(p);
  if (copy) sgd_step_bf16_copy(r, n, w, g, buf, copy);
  else if (r.momentum) step_as<true, false>(r, n, w, g, buf, nullptr);
  else step_as<false, false>(r, n, w, g, nullptr, nullptr);
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
