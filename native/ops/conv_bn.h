// Convolution (any kernel, stride, padding, groups; no bias) fused with batch norm and an optional
// ReLU: y = act(BN(conv(x, w))). Shapes:
//   x (N, H, W, Cin)   w (Cout, kH, kW, Cin / groups)   gamma, beta, running_* (Cout)
//   y, z (N, Ho, Wo, Cout) with Ho = (H + 2 padH - kH) / strideH + 1 (floor), likewise Wo
// z is the convolution output before BN, kept for backward; save_mean / save_var are the batch
// mean and biased variance. Training mode normalises with batch statistics and updates the
// running ones the PyTorch way: r = (1 - momentum) r + momentum * batch (unbiased variance).
#pragma once

#include "core/tensor.h"

namespace senet {

struct ConvBnParams {
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int groups = 1;
  bool relu = true;
  bool training = true;
  float eps = 1e-5f;
  float momentum = 0.1f;
};

/// Output spatial size for an input size, kernel, stride and padding (PyTorch's floor rule).
int64_t conv_output_size(int64_t in, int kernel, int stride, int pad);

/// z, save_mean and save_var are required in training mode and optional in inference.
void conv_bn_forward(const ConvBnParams& p, const Tensor& x, const Tensor& w, const Tensor& gamma,
                     const Tensor& beta, Tensor& running_mean, Tensor& running_var, Tensor& y,
                     Tensor* z, Tensor* save_mean, Tensor* save_var);

/// Gradients of a training-mode forward. dx is optional (the first layer needs none); dw, dgamma
/// and dbeta are overwritten.
void conv_bn_backward(const ConvBnParams& p, const Tensor& dy, const Tensor& x, const Tensor& w,
                      const Tensor& gamma, const Tensor& z, const Tensor& y,
                      const Tensor& save_mean, const Tensor& save_var, Tensor* dx, Tensor& dw,
                      Tensor& dgamma, Tensor& dbeta);

namespace cpu {
void conv_bn_forward(const ConvBnParams& p, const Tensor& x, const Tensor& w, const Tensor& gamma,
                     const Tensor& beta, Tensor& running_mean, Tensor& running_var, Tensor& y,
                     Tensor* z, Tensor* save_mean, Tensor* save_var);
void conv_bn_backward(const ConvBnParams& p, const Tensor& dy, const Tensor& x, const Tensor& w,
                      const Tensor& gamma, const Tensor& z, const Tensor& y,
                      const Tensor& save_mean, const Tensor& save_var, Tensor* dx, Tensor& dw,
                      Tensor& dgamma, Tensor& dbeta);
}  // namespace cpu

namespace cuda {
void conv_bn_forward(const ConvBnParams& p, const Tensor& x, const Tensor& w, const Tensor& gamma,
                     const Tensor& beta, Tensor& running_mean, Tensor& running_var, Tensor& y,
                     Tensor* z, Tensor* save_mean, Tensor* save_var);
void conv_bn_backward(const ConvBnParams& p, const Tensor& dy, const Tensor& x, const Tensor& w,
                      const Tensor& gamma, const Tensor& z, const Tensor& y,
                      const Tensor& save_mean, const Tensor& save_var, Tensor* dx, Tensor& dw,
                      Tensor& dgamma, Tensor& dbeta);
}  // namespace cuda

}  // namespace senet
