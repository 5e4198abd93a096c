#include "ops/conv_bn.h"

#include <cmath>
#include <utility>

#include "ops/dispatch.h"
#include "ops/precision.h"

namespace senet {

namespace {

struct ConvShapes {
  int64_t n, h, w, cin, cout, ho, wo;
  DType act;  // x's: float32, or bfloat16 in mixed precision (then w is the bf16 weight copy)
  Shape out() const { return {n, ho, wo, cout}; }
};

ConvShapes check_params_and_input(const Check& c, const ConvBnParams& p, const Tensor& x, const Tensor& w) {
  check_window(c, p);
  c.positive(p.groups, "groups");
  if (!(p.eps > 0) || !std::isfinite(p.eps))
    c.fail(ErrorCode::Argument, "eps: expected a number > 0, received " + std::to_string(p.eps));
  if (!(p.momentum >= 0 && p.momentum <= 1))
    c.fail(ErrorCode::Argument, "momentum: expected a number in [0, 1], received " + std::to_string(p.momentum));
  const DType act = check_activation(c, x, "x");
  c.tensor_rank(x, "x", act, 4);
  c.tensor_rank(w, "w", act, 4);
  ConvShapes s{x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), 0, 0, act};
  if (s.cin % p.groups != 0)
    c.fail(ErrorCode::Argument, "groups: expected a divisor of the input channels (" + std::to_string(s.cin) +
                                    "), received " + std::to_string(p.groups));
  if (s.cout % p.groups != 0)
    c.fail(ErrorCode::Argument, "groups: expected a divisor of the output channels (" + std::to_string(s.cout) +
                                    "), received " + std::to_string(p.groups));
  c.shape(w, "w", {s.cout, p.kernel_h, p.kernel_w, s.cin / p.groups});
  s.ho = window_output_size(s.h, p.kernel_h, p.stride_h, p.pad_h);
  s.wo = window_output_size(s.w, p.kernel_w, p.stride_w, p.pad_w);
  if (s.ho <= 0 || s.wo <= 0)
    c.fail(ErrorCode::Shape, "x: expected an input at least as large as the kernel " + std::to_string(p.kernel_h) + "x" +
                                 std::to_string(p.kernel_w) + " with its padding, received shape " + shape_str(x.shape));
  shape_numel(s.out());  // the output's element count must fit as well
  return s;
}

ConvShapes check_forward_inputs(const Check& c, const ConvBnForward& a) {
  ConvShapes s = check_params_and_input(c, a.p, a.x, a.w);
  const Shape ch{s.cout};
  c.tensor(a.gamma, "gamma", DType::F32, ch);
  c.tensor(a.beta, "beta", DType::F32, ch);
  c.tensor(a.running_mean, "runningMean", DType::F32, ch);
  c.tensor(a.running_var, "runningVar", DType::F32, ch);
  if (a.p.training && s.n * s.ho * s.wo < 2)
    c.fail(ErrorCode::Shape, "x: training-mode batch norm needs more than one value per channel, received output " +
                                 shape_str(s.out()));
  return s;
}

ConvShapes check_backward_inputs(const Check& c, const ConvBnBackward& a) {
  ConvShapes s = check_params_and_input(c, a.p, a.x, a.w);
  const Shape ch{s.cout}, out = s.out();
  c.tensor(a.dy, "dy", s.act, out);
  c.tensor(a.gamma, "gamma", DType::F32, ch);
  c.tensor(a.z, "z", s.act, out);
  c.tensor(a.y, "y", s.act, out);
  c.tensor(a.save_mean, "saveMean", DType::F32, ch);
  c.tensor(a.save_var, "saveVar", DType::F32, ch);
  return s;
}

}  // namespace

ConvBnForwardShapes conv_bn_forward_shapes(const ConvBnForward& a) {
  ConvShapes s = check_forward_inputs(Check("convBnForward"), a);
  ConvBnForwardShapes out{s.out(), std::nullopt, std::nullopt, std::nullopt};
  if (a.p.training) {
    out.z = s.out();
    out.save_mean = out.save_var = Shape{s.cout};
  }
  return out;
}

ConvBnBackwardShapes conv_bn_backward_shapes(const ConvBnBackward& a) {
  ConvShapes s = check_backward_inputs(Check("convBnBackward"), a);
  return {a.x.shape, a.w.shape, {s.cout}, {s.cout}};
}

void conv_bn_forward(const ConvBnForward& a) {
  Check c("convBnForward");
  ConvShapes s = check_forward_inputs(c, a);
  const Shape ch{s.cout}, out = s.out();
  c.tensor(a.y, "y", s.act, out);
  if (a.p.training && (!a.z.storage || !a.save_mean.storage || !a.save_var.storage))
    c.fail(ErrorCode::Argument, "z, saveMean, saveVar: expected tensors in training mode (backward reads them), received none");
  if (a.z.storage) c.tensor(a.z, "z", s.act, out);
  if (a.save_mean.storage) c.tensor(a.save_mean, "saveMean", DType::F32, ch);
  if (a.save_var.storage) c.tensor(a.save_var, "saveVar", DType::F32, ch);
  c.distinct(a.x, "x", a.y, "y");
  if (a.z.storage) c.distinct(a.z, "z", a.y, "y");
  if (a.save_mean.storage && a.save_var.storage) c.distinct(a.save_mean, "saveMean", a.save_var, "saveVar");
  Device d = c.same_device({&a.x, &a.w, &a.gamma, &a.beta, &a.running_mean, &a.running_var, &a.y, opt(a.z),
                            opt(a.save_mean), opt(a.save_var)});
  check_precision(c, d, s.act);
  enqueue(c, d, &cpu::conv_bn_forward, SENET_CUDA_FN(conv_bn_forward), a);
}

void conv_bn_backward(const ConvBnBackward& a) {
  Check c("convBnBackward");
  ConvShapes s = check_backward_inputs(c, a);
  const Shape ch{s.cout};
  if (a.dx.storage) c.tensor(a.dx, "dx", s.act, a.x.shape);
  c.tensor(a.dw, "dw", DType::F32, a.w.shape);
  c.tensor(a.dgamma, "dgamma", DType::F32, ch);
  c.tensor(a.dbeta, "dbeta", DType::F32, ch);
  // The outputs may be written before the inputs are read (the GPU measures its algorithms into
  // them on a shape's first call): none may share memory with an input.
  for (const auto& [t, name] : {std::pair<const Tensor*, const char*>{&a.dy, "dy"}, {&a.x, "x"}, {&a.y, "y"}, {&a.z, "z"}}) {
    if (a.dx.storage) c.distinct(a.dx, "dx", *t, name);
    c.distinct(a.dw, "dw", *t, name);
  }
  c.distinct(a.dgamma, "dgamma", a.dbeta, "dbeta");
  Device d = c.same_device({&a.dy, &a.x, &a.w, &a.gamma, &a.z, &a.y, &a.save_mean, &a.save_var, opt(a.dx), &a.dw,
                            &a.dgamma, &a.dbeta});
  check_precision(c, d, s.act);
  enqueue(c, d, &cpu::conv_bn_backward, SENET_CUDA_FN(conv_bn_backward), a);
}

}  // namespace senet
