// The squeeze-and-excitation block as one op:
//   pooled = mean over H, W of u                      (N, C)
//   hidden = relu(pooled w1^T + b1)                    (N, R)   w1 (R, C), b1 (R)
//   gate   = sigmoid(hidden w2^T + b2)                 (N, C)   w2 (C, R), b2 (C)
//   y      = u * gate                  without shortcut
//   y      = relu(u * gate + shortcut) with shortcut (the bottleneck's end, fused)
// u, shortcut, y: (N, H, W, C). pooled, hidden and gate are kept for backward.
#pragma once

#include <optional>

#include "core/tensor.h"

namespace senet {

/// Arguments of the forward; shortcut is optional (absent: the plain SE block).
struct SeForward {
  Tensor u, w1, b1, w2, b2, shortcut;
  Tensor y, pooled, hidden, gate;
};

/// Arguments of the backward. `residual` says whether the forward had a shortcut: then y (the
/// forward's output, for the final ReLU's mask) is required and dshortcut is produced; without
/// one, y is not read and dshortcut may not be given. The four fc gradients are overwritten.
struct SeBackward {
  bool residual = false;
  Tensor dy, u, y, w1, w2, pooled, hidden, gate;
  Tensor du, dshortcut, dw1, db1, dw2, db2;
};

struct SeForwardShapes {
  Shape y, pooled, hidden, gate;
};
struct SeBackwardShapes {
  Shape du;
  std::optional<Shape> dshortcut;
  Shape dw1, db1, dw2, db2;
};

SeForwardShapes se_forward_shapes(const SeForward& a);
SeBackwardShapes se_backward_shapes(const SeBackward& a);
void se_forward(const SeForward& a);
void se_backward(const SeBackward& a);

namespace cpu {
void se_forward(const SeForward& a);
void se_backward(const SeBackward& a);
}  // namespace cpu

namespace cuda {
void se_forward(const SeForward& a);
void se_backward(const SeBackward& a);
}  // namespace cuda

}  // namespace senet
