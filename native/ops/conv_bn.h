// Convolution (any kernel, stride, padding, groups; no bias) fused with batch norm and an optional
// ReLU: y = act(BN(conv(x, w))). Shapes:
//   x (N, H, W, Cin)   w (Cout, kH, kW, Cin / groups)   gamma, beta, running_* (Cout)
//   y, z (N, Ho, Wo, Cout) with Ho = (H + 2 padH - kH) / strideH + 1 (floor), likewise Wo
// z is the convolution output before BN, kept for backward; save_mean / save_var are the batch
// mean and biased variance. Training mode normalises with batch statistics and updates the
// running ones the PyTorch way: r = (1 - momentum) r + momentum * batch (unbiased variance).
#pragma once

#include <optional>

#include "core/tensor.h"
#include "ops/window.h"

namespace senet {

struct ConvBnParams : Window {
  int groups = 1;
  bool relu = true;
  bool training = true;
  float eps = 1e-5f;
  float momentum = 0.1f;
  // Allow TF32 tensor-core math in the GPU's convolution (precision 'tf32'); float32 elsewhere.
  bool tf32 = false;
};

/// Arguments of the forward. z, save_mean and save_var are required in training mode and optional
/// (absent: no storage) in inference; running_mean / running_var are updated in training mode.
struct ConvBnForward {
  ConvBnParams p;
  Tensor x, w, gamma, beta, running_mean, running_var;
  Tensor y, z, save_mean, save_var;
};

/// Arguments of the backward of a training-mode forward. dx is optional (the first layer needs
/// none); dw, dgamma and dbeta are overwritten. y is read only for the ReLU's mask: without a
/// ReLU any tensor of y's shape and type will do (senet's downsample layers pass a reused buffer).
struct ConvBnBackward {
  ConvBnParams p;
  Tensor dy, x, w, gamma, z, y, save_mean, save_var;
  Tensor dx, dw, dgamma, dbeta;
};

/// The output shapes an op makes when the caller gives no buffer (nullopt: not made by default).
struct ConvBnForwardShapes {
  Shape y;
  std::optional<Shape> z, save_mean, save_var;
};
struct ConvBnBackwardShapes {
  Shape dx, dw, dgamma, dbeta;
};

/// Checks the inputs and parameters; returns the output shapes.
ConvBnForwardShapes conv_bn_forward_shapes(const ConvBnForward& a);
ConvBnBackwardShapes conv_bn_backward_shapes(const ConvBnBackward& a);
/// Checks everything, then queues the op on the tensors' device.
void conv_bn_forward(const ConvBnForward& a);
void conv_bn_backward(const ConvBnBackward& a);

namespace cpu {
void conv_bn_forward(const ConvBnForward& a);
void conv_bn_backward(const ConvBnBackward& a);
}  // namespace cpu

namespace cuda {
void conv_bn_forward(const ConvBnForward& a);
void conv_bn_backward(const ConvBnBackward& a);
}  // namespace cuda

}  // namespace senet
