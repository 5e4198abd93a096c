#include "ops/sgd.h"

#include "ops/dispatch.h"
#include "ops/precision.h"

namespace senet {

void sgd_check_params(const char* where, const SgdParams& p) {
  Check c(where);
  c.finite(p.lr, "lr");
  c.finite(p.momentum, "momentum");
  c.finite(p.dampening, "dampening");
  c.finite(p.weight_decay, "weightDecay");
  if (p.lr < 0) c.fail(ErrorCode::Argument, "lr: expected a number >= 0, received " + std::to_string(p.lr));
  if (p.momentum < 0) c.fail(ErrorCode::Argument, "momentum: expected a number >= 0, received " + std::to_string(p.momentum));
  if (p.weight_decay < 0)
    c.fail(ErrorCode::Argument, "weightDecay: expected a number >= 0, received " + std::to_string(p.weight_decay));
  if (p.nesterov && (p.momentum <= 0 || p.dampening != 0))
    c.fail(ErrorCode::Argument, "nesterov: expected momentum > 0 and dampening 0 (as PyTorch), received momentum " +
                                    std::to_string(p.momentum) + " and dampening " + std::to_string(p.dampening));
}

void sgd_step(const SgdStep& a) {
  Check c("sgdStep");
  const SgdParams& p = a.p;
  sgd_check_params("sgdStep", p);
  c.usable(a.param, "param");
  c.dtype(a.param, "param", DType::F32);
  c.tensor(a.grad, "grad", DType::F32, a.param.shape);
  if (p.momentum != 0 && !a.momentum_buffer.storage)
    c.fail(ErrorCode::Argument, "momentumBuffer: expected a tensor when momentum is not 0, received none");
  if (a.momentum_buffer.storage) c.tensor(a.momentum_buffer, "momentumBuffer", DType::F32, a.param.shape);
  if (a.skip.storage) c.tensor(a.skip, "skip", DType::I32, {});
  if (a.param_copy.storage) c.tensor(a.param_copy, "paramCopy", DType::BF16, a.param.shape);
  c.distinct(a.param, "param", a.grad, "grad");
  if (a.momentum_buffer.storage) {
    c.distinct(a.param, "param", a.momentum_buffer, "momentumBuffer");
    c.distinct(a.grad, "grad", a.momentum_buffer, "momentumBuffer");
  }
  Device d = c.same_device({&a.param, &a.grad, opt(a.momentum_buffer), opt(a.skip), opt(a.param_copy)});
  if (a.param_copy.storage) check_precision(c, d, DType::BF16);
  enqueue(c, d, &cpu::sgd_step, SENET_CUDA_FN(sgd_step), a);
}

}  // namespace senet
