#include "ops/sgd.h"

#include "ops/dispatch.h"

namespace senet {

void sgd_step(const SgdParams& p, Tensor& param, const Tensor& grad, Tensor* momentum_buf) {
  Check c("sgdStep");
  c.finite(p.lr, "lr");
  c.finite(p.momentum, "momentum");
  c.finite(p.dampening, "dampening");
  c.finite(p.weight_decay, "weightDecay");
  if (p.lr < 0) c.fail(ErrorCode::Argument, "lr: expected a number >= 0, received " + std::to_string(p.lr));
  if (p.momentum < 0)
    c.fail(ErrorCode::Argument, "momentum: expected a number >= 0, received " + std::to_string(p.momentum));
  if (p.weight_decay < 0)
    c.fail(ErrorCode::Argument,
           "weightDecay: expected a number >= 0, received " + std::to_string(p.weight_decay));
  if (p.nesterov && (p.momentum <= 0 || p.dampening != 0))
    c.fail(ErrorCode::Argument, "nesterov: requires momentum > 0 and dampening 0 (as PyTorch)");
  c.usable(param, "param");
  c.dtype(param, "param", DType::F32);
  c.tensor(grad, "grad", DType::F32, param.shape);
  if (p.momentum != 0 && !momentum_buf)
    c.fail(ErrorCode::Argument, "momentumBuffer: required when momentum is not 0");
  if (momentum_buf) c.tensor(*momentum_buf, "momentumBuffer", DType::F32, param.shape);
  c.distinct(param, "param", grad, "grad");
  if (momentum_buf) {
    c.distinct(param, "param", *momentum_buf, "momentumBuffer");
    c.distinct(grad, "grad", *momentum_buf, "momentumBuffer");
  }
  Device d = c.same_device({&param, &grad, momentum_buf});
  if (d == Device::Cpu) return cpu::sgd_step(p, param, grad, momentum_buf);
  SENET_ON_CUDA(d, sgd_step(p, param, grad, momentum_buf));
  unsupported_device(c, d);
}

}  // namespace senet
