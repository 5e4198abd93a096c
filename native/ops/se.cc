#include "ops/se.h"

#include "ops/dispatch.h"
#include "ops/precision.h"

namespace senet {

namespace {

struct SeShapes {
  int64_t n, c, r;
  DType act;  // u's (and y's, shortcut's, dy's, du's): float32 or bfloat16; the rest is float32
};

SeShapes check_weights(const Check& c, const Tensor& u, const Tensor& w1, const Tensor& w2) {
  const DType act = check_activation(c, u, "u");
  c.tensor_rank(u, "u", act, 4);
  c.tensor_rank(w1, "w1", DType::F32, 2);
  SeShapes s{u.dim(0), u.dim(3), w1.dim(0), act};
  c.shape(w1, "w1", {s.r, s.c});
  c.tensor(w2, "w2", DType::F32, {s.c, s.r});
  return s;
}

SeShapes check_forward_inputs(const Check& c, const SeForward& a) {
  SeShapes s = check_weights(c, a.u, a.w1, a.w2);
  c.tensor(a.b1, "b1", DType::F32, {s.r});
  c.tensor(a.b2, "b2", DType::F32, {s.c});
  if (a.shortcut.storage) c.tensor(a.shortcut, "shortcut", s.act, a.u.shape);
  return s;
}

SeShapes check_backward_inputs(const Check& c, const SeBackward& a) {
  SeShapes s = check_weights(c, a.u, a.w1, a.w2);
  c.tensor(a.dy, "dy", s.act, a.u.shape);
  if (a.residual) {
    if (!a.y.storage)
      c.fail(ErrorCode::Argument, "y: expected the forward's output with a residual shortcut (its ReLU's mask), received none");
    c.tensor(a.y, "y", s.act, a.u.shape);
  }
  c.tensor(a.pooled, "pooled", DType::F32, {s.n, s.c});
  c.tensor(a.hidden, "hidden", DType::F32, {s.n, s.r});
  c.tensor(a.gate, "gate", DType::F32, {s.n, s.c});
  return s;
}

}  // namespace

SeForwardShapes se_forward_shapes(const SeForward& a) {
  SeShapes s = check_forward_inputs(Check("seForward"), a);
  return {a.u.shape, {s.n, s.c}, {s.n, s.r}, {s.n, s.c}};
}

SeBackwardShapes se_backward_shapes(const SeBackward& a) {
  SeShapes s = check_backward_inputs(Check("seBackward"), a);
  SeBackwardShapes out{a.u.shape, std::nullopt, a.w1.shape, {s.r}, a.w2.shape, {s.c}};
  if (a.residual) out.dshortcut = a.u.shape;
  return out;
}

void se_forward(const SeForward& a) {
  Check c("seForward");
  SeShapes s = check_forward_inputs(c, a);
  c.tensor(a.y, "y", s.act, a.u.shape);
  c.tensor(a.pooled, "pooled", DType::F32, {s.n, s.c});
  c.tensor(a.hidden, "hidden", DType::F32, {s.n, s.r});
  c.tensor(a.gate, "gate", DType::F32, {s.n, s.c});
  c.distinct(a.u, "u", a.y, "y");
  c.distinct(a.pooled, "pooled", a.gate, "gate");
  Device d = c.same_device({&a.u, &a.w1, &a.b1, &a.w2, &a.b2, opt(a.shortcut), &a.y, &a.pooled, &a.hidden, &a.gate});
  check_precision(c, d, s.act);
  enqueue(c, d, &cpu::se_forward, SENET_CUDA_FN(se_forward), a);
}

void se_backward(const SeBackward& a) {
  Check c("seBackward");
  SeShapes s = check_backward_inputs(c, a);
  c.tensor(a.du, "du", s.act, a.u.shape);
  if (a.residual) {
    if (!a.dshortcut.storage)
      c.fail(ErrorCode::Argument, "dshortcut: expected a tensor with a residual shortcut, received none");
    c.tensor(a.dshortcut, "dshortcut", s.act, a.u.shape);
  } else if (a.dshortcut.storage) {
    c.fail(ErrorCode::Argument, "dshortcut: expected none without a residual shortcut (residual: false), received a tensor");
  }
  c.tensor(a.dw1, "dw1", DType::F32, a.w1.shape);
  c.tensor(a.db1, "db1", DType::F32, {s.r});
  c.tensor(a.dw2, "dw2", DType::F32, a.w2.shape);
  c.tensor(a.db2, "db2", DType::F32, {s.c});
  c.distinct(a.du, "du", a.dy, "dy");
  c.distinct(a.du, "du", a.u, "u");
  if (a.residual) {
    c.distinct(a.du, "du", a.dshortcut, "dshortcut");
    c.distinct(a.dshortcut, "dshortcut", a.u, "u");
  }
  Device d = c.same_device({&a.dy, &a.u, opt(a.y), &a.w1, &a.w2, &a.pooled, &a.hidden, &a.gate, &a.du,
                            opt(a.dshortcut), &a.dw1, &a.db1, &a.dw2, &a.db2});
  check_precision(c, d, s.act);
  enqueue(c, d, &cpu::se_backward, SENET_CUDA_FN(se_backward), a);
}

}  // namespace senet
