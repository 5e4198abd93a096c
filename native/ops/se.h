// The squeeze-and-excitation block as one op:
//   pooled = mean over H, W of u                      (N, C)
//   hidden = relu(pooled w1^T + b1)                    (N, R)   w1 (R, C), b1 (R)
//   gate   = sigmoid(hidden w2^T + b2)                 (N, C)   w2 (C, R), b2 (C)
//   y      = u * gate                  without shortcut
//   y      = relu(u * gate + shortcut) with shortcut (the bottleneck's end, fused)
// u, shortcut, y: (N, H, W, C). pooled, hidden and gate are kept for backward.
#pragma once

#include "core/tensor.h"

namespace senet {

void se_forward(const Tensor& u, const Tensor& w1, const Tensor& b1, const Tensor& w2,
                const Tensor& b2, const Tensor* shortcut, Tensor& y, Tensor& pooled,
                Tensor& hidden, Tensor& gate);

/// y is needed (for the ReLU's mask) only with a shortcut; dshortcut likewise. The four fc
/// gradients are overwritten.
void se_backward(const Tensor& dy, const Tensor& u, const Tensor* y, const Tensor& w1,
                 const Tensor& w2, const Tensor& pooled, const Tensor& hidden, const Tensor& gate,
                 Tensor& du, Tensor* dshortcut, Tensor& dw1, Tensor& db1, Tensor& dw2,
                 Tensor& db2);

namespace cpu {
void se_forward(const Tensor& u, const Tensor& w1, const Tensor& b1, const Tensor& w2,
                const Tensor& b2, const Tensor* shortcut, Tensor& y, Tensor& pooled,
                Tensor& hidden, Tensor& gate);
void se_backward(const Tensor& dy, const Tensor& u, const Tensor* y, const Tensor& w1,
                 const Tensor& w2, const Tensor& pooled, const Tensor& hidden, const Tensor& gate,
                 Tensor& du, Tensor* dshortcut, Tensor& dw1, Tensor& db1, Tensor& dw2,
                 Tensor& db2);
}  // namespace cpu

namespace cuda {
void se_forward(const Tensor& u, const Tensor& w1, const Tensor& b1, const Tensor& w2,
                const Tensor& b2, const Tensor* shortcut, Tensor& y, Tensor& pooled,
                Tensor& hidden, Tensor& gate);
void se_backward(const Tensor& dy, const Tensor& u, const Tensor* y, const Tensor& w1,
                 const Tensor& w2, const Tensor& pooled, const Tensor& hidden, const Tensor& gate,
                 Tensor& du, Tensor* dshortcut, Tensor& dw1, Tensor& db1, Tensor& dw2,
                 Tensor& db2);
}  // namespace cuda

}  // namespace senet
