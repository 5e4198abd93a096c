#include "ops/pool.h"

#include "ops/dispatch.h"
#include "ops/precision.h"

namespace senet {

namespace {

Shape check_max_pool(const Check& c, const MaxPoolParams& p, const Tensor& x) {
  check_window(c, p);
  // Each window must hold at least one real element, as PyTorch requires.
  if (2 * p.pad_h > p.kernel_h || 2 * p.pad_w > p.kernel_w)
    c.fail(ErrorCode::Argument, "padding: expected at most half the kernel, received pad " + std::to_string(p.pad_h) +
                                    "x" + std::to_string(p.pad_w) + " for kernel " + std::to_string(p.kernel_h) + "x" +
                                    std::to_string(p.kernel_w));
  c.tensor_rank(x, "x", check_activation(c, x, "x"), 4);
  const int64_t ho = window_output_size(x.dim(1), p.kernel_h, p.stride_h, p.pad_h);
  const int64_t wo = window_output_size(x.dim(2), p.kernel_w, p.stride_w, p.pad_w);
  if (ho <= 0 || wo <= 0)
    c.fail(ErrorCode::Shape, "x: expected an input at least as large as the window, received shape " + shape_str(x.shape));
  return {x.dim(0), ho, wo, x.dim(3)};
}

Shape check_gap_backward(const Check& c, const GlobalAvgPoolBackward& a) {
  c.tensor_rank(a.dy, "dy", DType::F32, 2);
  if (a.dx.storage) {
    c.tensor_rank(a.dx, "dx", check_activation(c, a.dx, "dx"), 4);
    c.shape(a.dy, "dy", {a.dx.dim(0), a.dx.dim(3)});
    return a.dx.shape;
  }
  c.positive(a.height, "height");
  c.positive(a.width, "width");
  Shape s{a.dy.dim(0), a.height, a.width, a.dy.dim(1)};
  shape_numel(s);
  return s;
}

}  // namespace

Shape max_pool_forward_shape(const MaxPoolForward& a) { return check_max_pool(Check("maxPoolForward"), a.p, a.x); }

Shape max_pool_backward_shape(const MaxPoolBackward& a) {
  check_max_pool(Check("maxPoolBackward"), a.p, a.x);
  return a.x.shape;
}

Shape global_avg_pool_forward_shape(const GlobalAvgPoolForward& a) {
  Check c("globalAvgPoolForward");
  c.tensor_rank(a.x, "x", check_activation(c, a.x, "x"), 4);
  return {a.x.dim(0), a.x.dim(3)};
}

Shape global_avg_pool_backward_shape(const GlobalAvgPoolBackward& a) {
  return check_gap_backward(Check("globalAvgPoolBackward"), a);
}

void max_pool_forward(const MaxPoolForward& a) {
  Check c("maxPoolForward");
  Shape out = check_max_pool(c, a.p, a.x);
  c.tensor(a.y, "y", a.x.dtype, out);
  c.distinct(a.x, "x", a.y, "y");
  Device d = c.same_device({&a.x, &a.y});
  check_precision(c, d, a.x.dtype);
  enqueue(c, d, &cpu::max_pool_forward, SENET_CUDA_FN(max_pool_forward), a);
}

void max_pool_backward(const MaxPoolBackward& a) {
  Check c("maxPoolBackward");
  Shape out = check_max_pool(c, a.p, a.x);
  c.tensor(a.dy, "dy", a.x.dtype, out);
  c.tensor(a.y, "y", a.x.dtype, out);
  c.tensor(a.dx, "dx", a.x.dtype, a.x.shape);
  c.distinct(a.dx, "dx", a.dy, "dy");
  c.distinct(a.dx, "dx", a.x, "x");
  c.distinct(a.dx, "dx", a.y, "y");
  Device d = c.same_device({&a.dy, &a.x, &a.y, &a.dx});
  check_precision(c, d, a.x.dtype);
  enqueue(c, d, &cpu::max_pool_backward, SENET_CUDA_FN(max_pool_backward), a);
}

void global_avg_pool_forward(const GlobalAvgPoolForward& a) {
  Check c("globalAvgPoolForward");
  c.tensor_rank(a.x, "x", check_activation(c, a.x, "x"), 4);
  c.tensor(a.y, "y", DType::F32, {a.x.dim(0), a.x.dim(3)});  // float32 features whatever x is
  c.distinct(a.x, "x", a.y, "y");
  Device d = c.same_device({&a.x, &a.y});
  check_precision(c, d, a.x.dtype);
  enqueue(c, d, &cpu::global_avg_pool_forward, SENET_CUDA_FN(global_avg_pool_forward), a);
}

void global_avg_pool_backward(const GlobalAvgPoolBackward& a) {
  Check c("globalAvgPoolBackward");
  c.usable(a.dx, "dx");
  check_gap_backward(c, a);
  c.distinct(a.dx, "dx", a.dy, "dy");
  Device d = c.same_device({&a.dy, &a.dx});
  check_precision(c, d, a.dx.dtype);
  enqueue(c, d, &cpu::global_avg_pool_backward, SENET_CUDA_FN(global_avg_pool_backward), a);
}

}  // namespace senet
