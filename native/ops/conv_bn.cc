#include "ops/conv_bn.h"

#include <cmath>

#include "ops/dispatch.h"

namespace senet {

int64_t conv_output_size(int64_t in, int kernel, int stride, int pad) {
  int64_t span = in + 2 * static_cast<int64_t>(pad) - kernel;
  return span < 0 ? 0 : span / stride + 1;
}

namespace {

struct ConvShapes {
  int64_t n, h, w, cin, cout, ho, wo;
};

ConvShapes check_params_and_input(const Check& c, const ConvBnParams& p, const Tensor& x,
                                  const Tensor& w) {
  c.positive(p.kernel_h, "kernelH");
  c.positive(p.kernel_w, "kernelW");
  c.positive(p.stride_h, "strideH");
  c.positive(p.stride_w, "strideW");
  c.non_negative(p.pad_h, "padH");
  c.non_negative(p.pad_w, "padW");
  c.positive(p.groups, "groups");
  if (!(p.eps > 0) || !std::isfinite(p.eps))
    c.fail(ErrorCode::Argument, "eps: expected a number > 0, received " + std::to_string(p.eps));
  if (!(p.momentum >= 0 && p.momentum <= 1))
    c.fail(ErrorCode::Argument,
           "momentum: expected a number in [0, 1], received " + std::to_string(p.momentum));
  c.tensor_rank(x, "x", DType::F32, 4);
  c.tensor_rank(w, "w", DType::F32, 4);
  ConvShapes s{x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), 0, 0};
  if (s.cin % p.groups != 0)
    c.fail(ErrorCode::Argument, "groups: expected a divisor of the input channels (" +
                                    std::to_string(s.cin) + "), received " +
                                    std::to_string(p.groups));
  if (s.cout % p.groups != 0)
    c.fail(ErrorCode::Argument, "groups: expected a divisor of the output channels (" +
                                    std::to_string(s.cout) + "), received " +
                                    std::to_string(p.groups));
  c.shape(w, "w", {s.cout, p.kernel_h, p.kernel_w, s.cin / p.groups});
  s.ho = conv_output_size(s.h, p.kernel_h, p.stride_h, p.pad_h);
  s.wo = conv_output_size(s.w, p.kernel_w, p.stride_w, p.pad_w);
  if (s.ho <= 0 || s.wo <= 0)
    c.fail(ErrorCode::Shape, "x: input " + shape_str(x.shape) + " is smaller than the kernel " +
                                 std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w) +
                                 " with its padding");
  return s;
}

}  // namespace

void conv_bn_forward(const ConvBnParams& p, const Tensor& x, const Tensor& w, const Tensor& gamma,
                     const Tensor& beta, Tensor& running_mean, Tensor& running_var, Tensor& y,
                     Tensor* z, Tensor* save_mean, Tensor* save_var) {
  Check c("convBnForward");
  ConvShapes s = check_params_and_input(c, p, x, w);
  const Shape ch{s.cout}, out{s.n, s.ho, s.wo, s.cout};
  c.tensor(gamma, "gamma", DType::F32, ch);
  c.tensor(beta, "beta", DType::F32, ch);
  c.tensor(running_mean, "runningMean", DType::F32, ch);
  c.tensor(running_var, "runningVar", DType::F32, ch);
  c.tensor(y, "y", DType::F32, out);
  if (p.training && (!z || !save_mean || !save_var))
    c.fail(ErrorCode::Argument, "z, saveMean and saveVar are required in training mode");
  if (z) c.tensor(*z, "z", DType::F32, out);
  if (save_mean) c.tensor(*save_mean, "saveMean", DType::F32, ch);
  if (save_var) c.tensor(*save_var, "saveVar", DType::F32, ch);
  if (p.training && s.n * s.ho * s.wo < 2)
    c.fail(ErrorCode::Shape, "training-mode batch norm needs more than one value per channel, "
                             "received output " + shape_str(out));
  c.distinct(x, "x", y, "y");
  if (z) c.distinct(*z, "z", y, "y");
  Device d = c.same_device({&x, &w, &gamma, &beta, &running_mean, &running_var, &y, z, save_mean,
                            save_var});
  if (d == Device::Cpu)
    return cpu::conv_bn_forward(p, x, w, gamma, beta, running_mean, running_var, y, z, save_mean,
                                save_var);
  SENET_ON_CUDA(d, conv_bn_forward(p, x, w, gamma, beta, running_mean, running_var, y, z, save_mean,
                                save_var));
  unsupported_device(c, d);
}

void conv_bn_backward(const ConvBnParams& p, const Tensor& dy, const Tensor& x, const Tensor& w,
                      const Tensor& gamma, const Tensor& z, const Tensor& y,
                      const Tensor& save_mean, const Tensor& save_var, Tensor* dx, Tensor& dw,
                      Tensor& dgamma, Tensor& dbeta) {
  Check c("convBnBackward");
  ConvShapes s = check_params_and_input(c, p, x, w);
  const Shape ch{s.cout}, out{s.n, s.ho, s.wo, s.cout};
  c.tensor(dy, "dy", DType::F32, out);
  c.tensor(gamma, "gamma", DType::F32, ch);
  c.tensor(z, "z", DType::F32, out);
  c.tensor(y, "y", DType::F32, out);
  c.tensor(save_mean, "saveMean", DType::F32, ch);
  c.tensor(save_var, "saveVar", DType::F32, ch);
  if (dx) c.tensor(*dx, "dx", DType::F32, x.shape);
  c.tensor(dw, "dw", DType::F32, w.shape);
  c.tensor(dgamma, "dgamma", DType::F32, ch);
  c.tensor(dbeta, "dbeta", DType::F32, ch);
  if (dx) c.distinct(*dx, "dx", dy, "dy");
  Device d = c.same_device({&dy, &x, &w, &gamma, &z, &y, &save_mean, &save_var, dx, &dw, &dgamma,
                            &dbeta});
  if (d == Device::Cpu)
    return cpu::conv_bn_backward(p, dy, x, w, gamma, z, y, save_mean, save_var, dx, dw, dgamma,
                                 dbeta);
  SENET_ON_CUDA(d, conv_bn_backward(p, dy, x, w, gamma, z, y, save_mean, save_var, dx, dw, dgamma,
                                 dbeta));
  unsupported_device(c, d);
}

}  // namespace senet
