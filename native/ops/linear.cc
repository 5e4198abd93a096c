#include "ops/linear.h"

#include "ops/dispatch.h"

namespace senet {

namespace {

void check_weights(const Check& c, const Tensor& x, const Tensor& w) {
  c.tensor_rank(x, "x", DType::F32, 2);
  c.tensor_rank(w, "w", DType::F32, 2);
  if (w.dim(1) != x.dim(1))
    c.fail(ErrorCode::Shape, "w: expected " + std::to_string(x.dim(1)) + " input features to match x " +
                                 shape_str(x.shape) + ", received shape " + shape_str(w.shape));
}

void check_backward_inputs(const Check& c, const LinearBackward& a) {
  check_weights(c, a.x, a.w);
  c.tensor(a.dy, "dy", DType::F32, {a.x.dim(0), a.w.dim(0)});
}

}  // namespace

Shape linear_forward_shape(const LinearForward& a) {
  Check c("linearForward");
  check_weights(c, a.x, a.w);
  if (a.b.storage) c.tensor(a.b, "b", DType::F32, {a.w.dim(0)});
  return {a.x.dim(0), a.w.dim(0)};
}

LinearBackwardShapes linear_backward_shapes(const LinearBackward& a) {
  check_backward_inputs(Check("linearBackward"), a);
  LinearBackwardShapes s{a.x.shape, a.w.shape, std::nullopt};
  if (a.bias) s.db = Shape{a.w.dim(0)};
  return s;
}

void linear_forward(const LinearForward& a) {
  Check c("linearForward");
  Shape out = linear_forward_shape(a);
  c.tensor(a.y, "y", DType::F32, out);
  c.distinct(a.x, "x", a.y, "y");
  c.distinct(a.w, "w", a.y, "y");
  Device d = c.same_device({&a.x, &a.w, opt(a.b), &a.y});
  enqueue(c, d, &cpu::linear_forward, SENET_CUDA_FN(linear_forward), a);
}

void linear_backward(const LinearBackward& a) {
  Check c("linearBackward");
  check_backward_inputs(c, a);
  if (a.dx.storage) c.tensor(a.dx, "dx", DType::F32, a.x.shape);
  c.tensor(a.dw, "dw", DType::F32, a.w.shape);
  if (a.bias) {
    if (!a.db.storage) c.fail(ErrorCode::Argument, "db: expected a tensor when the forward had a bias, received none");
    c.tensor(a.db, "db", DType::F32, {a.w.dim(0)});
  } else if (a.db.storage) {
    c.fail(ErrorCode::Argument, "db: expected none without a bias (bias: false), received a tensor");
  }
  if (a.dx.storage) {
    c.distinct(a.dx, "dx", a.dy, "dy");
    c.distinct(a.dx, "dx", a.w, "w");
  }
  c.distinct(a.dw, "dw", a.x, "x");
  c.distinct(a.dw, "dw", a.dy, "dy");
  Device d = c.same_device({&a.dy, &a.x, &a.w, opt(a.dx), &a.dw, opt(a.db)});
  enqueue(c, d, &cpu::linear_backward, SENET_CUDA_FN(linear_backward), a);
}

}  // namespace senet
