// Pooling: max pooling (the stem's 3x3 / 2, padding 1; any window here) and global average
// pooling (the head). x (N, H, W, C); max pool y (N, Ho, Wo, C); global average y (N, C).
// Padding never wins a max (PyTorch pads with -inf).
#pragma once

#include "core/tensor.h"

namespace senet {

struct MaxPoolParams {
  int kernel_h = 3, kernel_w = 3;
  int stride_h = 2, stride_w = 2;
  int pad_h = 1, pad_w = 1;
};

void max_pool_forward(const MaxPoolParams& p, const Tensor& x, Tensor& y);
/// dx from dy and the forward's input and output; the gradient goes to the first maximum of each
/// window, as PyTorch's does.
void max_pool_backward(const MaxPoolParams& p, const Tensor& dy, const Tensor& x, const Tensor& y,
                       Tensor& dx);
void global_avg_pool_forward(const Tensor& x, Tensor& y);
void global_avg_pool_backward(const Tensor& dy, Tensor& dx);

namespace cpu {
void max_pool_forward(const MaxPoolParams& p, const Tensor& x, Tensor& y);
void max_pool_backward(const MaxPoolParams& p, const Tensor& dy, const Tensor& x, const Tensor& y,
                       Tensor& dx);
void global_avg_pool_forward(const Tensor& x, Tensor& y);
void global_avg_pool_backward(const Tensor& dy, Tensor& dx);
}  // namespace cpu

namespace cuda {
void max_pool_forward(const MaxPoolParams& p, const Tensor& x, Tensor& y);
void max_pool_backward(const MaxPoolParams& p, const Tensor& dy, const Tensor& x, const Tensor& y,
                       Tensor& dx);
void global_avg_pool_forward(const Tensor& x, Tensor& y);
void global_avg_pool_backward(const Tensor& dy, Tensor& dx);
}  // namespace cuda

}  // namespace senet
