// Fully connected layer, PyTorch layout: y = x w^T + b. x (N, In), w (Out, In), b (Out), y (N, Out).
#pragma once

#include <optional>

#include "core/tensor.h"

namespace senet {

/// b is optional (absent: no bias).
/// tf32: allow TF32 tensor-core math on the GPU (precision 'tf32'); the CPU computes float32.
struct LinearForward {
  bool tf32 = false;
  Tensor x, w, b, y;
};

/// `bias` says whether the forward had one: then db is required, otherwise it may not be given.
/// dx is optional; dw (and db) are overwritten.
struct LinearBackward {
  bool bias = true;
  bool tf32 = false;
  Tensor dy, x, w, dx, dw, db;
};

struct LinearBackwardShapes {
  Shape dx, dw;
  std::optional<Shape> db;
};

Shape linear_forward_shape(const LinearForward& a);
LinearBackwardShapes linear_backward_shapes(const LinearBackward& a);
void linear_forward(const LinearForward& a);
void linear_backward(const LinearBackward& a);

namespace cpu {
void linear_forward(const LinearForward& a);
void linear_backward(const LinearBackward& a);
}  // namespace cpu

namespace cuda {
void linear_forward(const LinearForward& a);
void linear_backward(const LinearBackward& a);
}  // namespace cuda

}  // namespace senet
