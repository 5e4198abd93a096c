#include "ops/se.h"

#include "ops/dispatch.h"

namespace senet {

namespace {

struct SeShapes {
  int64_t n, c, r;
};

SeShapes check_weights(const Check& c, const Tensor& u, const Tensor& w1, const Tensor& w2) {
  c.tensor_rank(u, "u", DType::F32, 4);
  c.tensor_rank(w1, "w1", DType::F32, 2);
  SeShapes s{u.dim(0), u.dim(3), w1.dim(0)};
  c.shape(w1, "w1", {s.r, s.c});
  c.tensor(w2, "w2", DType::F32, {s.c, s.r});
  return s;
}

}  // namespace

void se_forward(const Tensor& u, const Tensor& w1, const Tensor& b1, const Tensor& w2,
                const Tensor& b2, const Tensor* shortcut, Tensor& y, Tensor& pooled,
                Tensor& hidden, Tensor& gate) {
  Check c("seForward");
  SeShapes s = check_weights(c, u, w1, w2);
  c.tensor(b1, "b1", DType::F32, {s.r});
  c.tensor(b2, "b2", DType::F32, {s.c});
  if (shortcut) c.tensor(*shortcut, "shortcut", DType::F32, u.shape);
  c.tensor(y, "y", DType::F32, u.shape);
  c.tensor(pooled, "pooled", DType::F32, {s.n, s.c});
  c.tensor(hidden, "hidden", DType::F32, {s.n, s.r});
  c.tensor(gate, "gate", DType::F32, {s.n, s.c});
  c.distinct(u, "u", y, "y");
  Device d = c.same_device({&u, &w1, &b1, &w2, &b2, shortcut, &y, &pooled, &hidden, &gate});
  if (d == Device::Cpu) return cpu::se_forward(u, w1, b1, w2, b2, shortcut, y, pooled, hidden, gate);
  SENET_ON_CUDA(d, se_forward(u, w1, b1, w2, b2, shortcut, y, pooled, hidden, gate));
  unsupported_device(c, d);
}

void se_backward(const Tensor& dy, const Tensor& u, const Tensor* y, const Tensor& w1,
                 const Tensor& w2, const Tensor& pooled, const Tensor& hidden, const Tensor& gate,
                 Tensor& du, Tensor* dshortcut, Tensor& dw1, Tensor& db1, Tensor& dw2,
                 Tensor& db2) {
  Check c("seBackward");
  SeShapes s = check_weights(c, u, w1, w2);
  c.tensor(dy, "dy", DType::F32, u.shape);
  if (dshortcut && !y)
    c.fail(ErrorCode::Argument, "y: the forward's output is required with a shortcut (ReLU mask)");
  if (y) c.tensor(*y, "y", DType::F32, u.shape);
  c.tensor(pooled, "pooled", DType::F32, {s.n, s.c});
  c.tensor(hidden, "hidden", DType::F32, {s.n, s.r});
  c.tensor(gate, "gate", DType::F32, {s.n, s.c});
  c.tensor(du, "du", DType::F32, u.shape);
  if (dshortcut) c.tensor(*dshortcut, "dshortcut", DType::F32, u.shape);
  c.tensor(dw1, "dw1", DType::F32, w1.shape);
  c.tensor(db1, "db1", DType::F32, {s.r});
  c.tensor(dw2, "dw2", DType::F32, w2.shape);
  c.tensor(db2, "db2", DType::F32, {s.c});
  c.distinct(du, "du", dy, "dy");
  c.distinct(du, "du", u, "u");
  if (dshortcut) c.distinct(du, "du", *dshortcut, "dshortcut");
  Device d = c.same_device({&dy, &u, y, &w1, &w2, &pooled, &hidden, &gate, &du, dshortcut, &dw1,
                            &db1, &dw2, &db2});
  if (d == Device::Cpu)
    return cpu::se_backward(dy, u, y, w1, w2, pooled, hidden, gate, du, dshortcut, dw1, db1, dw2,
                            db2);
  SENET_ON_CUDA(d, se_backward(dy, u, y, w1, w2, pooled, hidden, gate, du, dshortcut, dw1, db1, dw2, db2));
  unsupported_device(c, d);
}

}  // namespace senet
