#include "ops/pool.h"

#include "ops/conv_bn.h"
#include "ops/dispatch.h"

namespace senet {

namespace {

Shape check_max_pool(const Check& c, const MaxPoolParams& p, const Tensor& x) {
  c.positive(p.kernel_h, "kernelH");
  c.positive(p.kernel_w, "kernelW");
  c.positive(p.stride_h, "strideH");
  c.positive(p.stride_w, "strideW");
  c.non_negative(p.pad_h, "padH");
  c.non_negative(p.pad_w, "padW");
  // Each window must hold at least one real element, as PyTorch requires.
  if (2 * p.pad_h > p.kernel_h || 2 * p.pad_w > p.kernel_w)
    c.fail(ErrorCode::Argument, "padding: expected at most half the kernel, received pad " +
                                    std::to_string(p.pad_h) + "x" + std::to_string(p.pad_w) +
                                    " for kernel " + std::to_string(p.kernel_h) + "x" +
                                    std::to_string(p.kernel_w));
  c.tensor_rank(x, "x", DType::F32, 4);
  int64_t ho = conv_output_size(x.dim(1), p.kernel_h, p.stride_h, p.pad_h);
  int64_t wo = conv_output_size(x.dim(2), p.kernel_w, p.stride_w, p.pad_w);
  if (ho <= 0 || wo <= 0)
    c.fail(ErrorCode::Shape, "x: input " + shape_str(x.shape) + " is smaller than the window");
  return {x.dim(0), ho, wo, x.dim(3)};
}

}  // namespace

void max_pool_forward(const MaxPoolParams& p, const Tensor& x, Tensor& y) {
  Check c("maxPoolForward");
  Shape out = check_max_pool(c, p, x);
  c.tensor(y, "y", DType::F32, out);
  c.distinct(x, "x", y, "y");
  Device d = c.same_device({&x, &y});
  if (d == Device::Cpu) return cpu::max_pool_forward(p, x, y);
  SENET_ON_CUDA(d, max_pool_forward(p, x, y));
  unsupported_device(c, d);
}

void max_pool_backward(const MaxPoolParams& p, const Tensor& dy, const Tensor& x, const Tensor& y,
                       Tensor& dx) {
  Check c("maxPoolBackward");
  Shape out = check_max_pool(c, p, x);
  c.tensor(dy, "dy", DType::F32, out);
  c.tensor(y, "y", DType::F32, out);
  c.tensor(dx, "dx", DType::F32, x.shape);
  c.distinct(dx, "dx", dy, "dy");
  c.distinct(dx, "dx", x, "x");
  c.distinct(dx, "dx", y, "y");
  Device d = c.same_device({&dy, &x, &y, &dx});
  if (d == Device::Cpu) return cpu::max_pool_backward(p, dy, x, y, dx);
  SENET_ON_CUDA(d, max_pool_backward(p, dy, x, y, dx));
  unsupported_device(c, d);
}

void global_avg_pool_forward(const Tensor& x, Tensor& y) {
  Check c("globalAvgPoolForward");
  c.tensor_rank(x, "x", DType::F32, 4);
  c.tensor(y, "y", DType::F32, {x.dim(0), x.dim(3)});
  Device d = c.same_device({&x, &y});
  if (d == Device::Cpu) return cpu::global_avg_pool_forward(x, y);
  SENET_ON_CUDA(d, global_avg_pool_forward(x, y));
  unsupported_device(c, d);
}

void global_avg_pool_backward(const Tensor& dy, Tensor& dx) {
  Check c("globalAvgPoolBackward");
  c.tensor_rank(dx, "dx", DType::F32, 4);
  c.tensor(dy, "dy", DType::F32, {dx.dim(0), dx.dim(3)});
  Device d = c.same_device({&dy, &dx});
  if (d == Device::Cpu) return cpu::global_avg_pool_backward(dy, dx);
  SENET_ON_CUDA(d, global_avg_pool_backward(dy, dx));
  unsupported_device(c, d);
}

}  // namespace senet
