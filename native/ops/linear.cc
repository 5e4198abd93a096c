#include "ops/linear.h"

#include "ops/dispatch.h"

namespace senet {

namespace {

void check_weights(const Check& c, const Tensor& x, const Tensor& w) {
  c.tensor_rank(x, "x", DType::F32, 2);
  c.tensor_rank(w, "w", DType::F32, 2);
  if (w.dim(1) != x.dim(1))
    c.fail(ErrorCode::Shape, "w: expected " + std::to_string(x.dim(1)) +
                                 " input features to match x " + shape_str(x.shape) +
                                 ", received shape " + shape_str(w.shape));
}

}  // namespace

void linear_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y) {
  Check c("linearForward");
  check_weights(c, x, w);
  if (b) c.tensor(*b, "b", DType::F32, {w.dim(0)});
  c.tensor(y, "y", DType::F32, {x.dim(0), w.dim(0)});
  c.distinct(x, "x", y, "y");
  c.distinct(w, "w", y, "y");
  Device d = c.same_device({&x, &w, b, &y});
  if (d == Device::Cpu) return cpu::linear_forward(x, w, b, y);
  SENET_ON_CUDA(d, linear_forward(x, w, b, y));
  unsupported_device(c, d);
}

void linear_backward(const Tensor& dy, const Tensor& x, const Tensor& w, Tensor* dx, Tensor& dw,
                     Tensor* db) {
  Check c("linearBackward");
  check_weights(c, x, w);
  c.tensor(dy, "dy", DType::F32, {x.dim(0), w.dim(0)});
  if (dx) c.tensor(*dx, "dx", DType::F32, x.shape);
  c.tensor(dw, "dw", DType::F32, w.shape);
  if (db) c.tensor(*db, "db", DType::F32, {w.dim(0)});
  if (dx) {
    c.distinct(*dx, "dx", dy, "dy");
    c.distinct(*dx, "dx", w, "w");
  }
  c.distinct(dw, "dw", x, "x");
  c.distinct(dw, "dw", dy, "dy");
  Device d = c.same_device({&dy, &x, &w, dx, &dw, db});
  if (d == Device::Cpu) return cpu::linear_backward(dy, x, w, dx, dw, db);
  SENET_ON_CUDA(d, linear_backward(dy, x, w, dx, dw, db));
  unsupported_device(c, d);
}

}  // namespace senet
