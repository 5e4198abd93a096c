// One SGD step over a flat range of parameters (an arena, or a view of one), torch.optim.SGD's
// rule: g += weight_decay * p; if momentum: buf = first_step ? g : momentum * buf +
// (1 - dampening) * g; g = nesterov ? g + momentum * buf : buf; p -= lr * g.
// param, grad, momentum_buf: float32, same element count.
#pragma once

#include "core/tensor.h"

namespace senet {

struct SgdParams {
  float lr = 0.1f;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
  bool first_step = true;  // the momentum buffer is set to the gradient, not blended
};

/// momentum_buf may be null when momentum is 0.
void sgd_step(const SgdParams& p, Tensor& param, const Tensor& grad, Tensor* momentum_buf);

namespace cpu {
void sgd_step(const SgdParams& p, Tensor& param, const Tensor& grad, Tensor* momentum_buf);
}  // namespace cpu

namespace cuda {
void sgd_step(const SgdParams& p, Tensor& param, const Tensor& grad, Tensor* momentum_buf);
}  // namespace cuda

}  // namespace senet
