// One SGD step over a flat range of parameters (an arena, or a view of one), torch.optim.SGD's
// rule: g += weight_decay * p; if momentum: buf = first_step ? g : momentum * buf +
// (1 - dampening) * g; g = nesterov ? g + momentum * buf : buf; p -= lr * g.
// param, grad, momentum_buffer: float32, same element count.
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

/// momentum_buffer may be absent when momentum is 0. skip (optional, an int32 scalar on the
/// device) skips the whole step when it is not 0 when the step runs: a training loop's
/// non-finite check decides on the device, without waiting for the host.
/// param_copy (optional, bfloat16, param's element count): the bf16 copy of the weights that
/// mixed precision's convolutions read, rewritten from the updated float32 values in the same pass.
struct SgdStep {
  SgdParams p;
  Tensor param, grad, momentum_buffer, skip, param_copy;
};

/// Checks the hyper-parameters alone (an optimizer's constructor refuses bad ones up front).
void sgd_check_params(const char* where, const SgdParams& p);
void sgd_step(const SgdStep& a);

namespace cpu {
void sgd_step(const SgdStep& a);
}  // namespace cpu

namespace cuda {
void sgd_step(const SgdStep& a);
}  // namespace cuda

}  // namespace senet
