// One SGD step over a flat parameter range, torch.optim.SGD's arithmetic, one pass.
#include "ops/sgd.h"

namespace senet::cpu {

void sgd_step(const SgdParams& p, Tensor& param, const Tensor& grad, Tensor* momentum_buf) {
  const int64_t n = param.numel();
  float* w = param.data<float>();
  const float* g = grad.data<float>();
  float* buf = momentum_buf ? momentum_buf->data<float>() : nullptr;
  const float lr = p.lr, wd = p.weight_decay, mu = p.momentum, damp = 1.f - p.dampening;
  if (mu == 0.f) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) w[i] -= lr * (g[i] + wd * w[i]);
    return;
  }
  const bool first = p.first_step, nesterov = p.nesterov;
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float d = g[i] + wd * w[i];
    const float b = first ? d : mu * buf[i] + damp * d;
    buf[i] = b;
    w[i] -= lr * (nesterov ? d + mu * b : b);
  }
}

}  // namespace senet::cpu
