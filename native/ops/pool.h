// Pooling: max pooling (the stem's 3x3 / 2, padding 1; any window here) and global average
// pooling (the head). x (N, H, W, C); max pool y (N, Ho, Wo, C); global average y (N, C).
// Padding never wins a max (PyTorch pads with -inf).
#pragma once

#include "core/tensor.h"
#include "ops/window.h"

namespace senet {

struct MaxPoolParams : Window {
  MaxPoolParams() {
    kernel_h = kernel_w = 3;
    stride_h = stride_w = 2;
    pad_h = pad_w = 1;
  }
};

struct MaxPoolForward {
  MaxPoolParams p;
  Tensor x, y;
};

/// dx from dy and the forward's input and output; the gradient goes to the first maximum of each
/// window, as PyTorch's does.
struct MaxPoolBackward {
  MaxPoolParams p;
  Tensor dy, x, y, dx;
};

struct GlobalAvgPoolForward {
  Tensor x, y;
};

/// height / width: the forward input's, needed only to make dx when none is given.
struct GlobalAvgPoolBackward {
  int64_t height = 0, width = 0;
  Tensor dy, dx;
};

Shape max_pool_forward_shape(const MaxPoolForward& a);
Shape max_pool_backward_shape(const MaxPoolBackward& a);
Shape global_avg_pool_forward_shape(const GlobalAvgPoolForward& a);
Shape global_avg_pool_backward_shape(const GlobalAvgPoolBackward& a);
void max_pool_forward(const MaxPoolForward& a);
void max_pool_backward(const MaxPoolBackward& a);
void global_avg_pool_forward(const GlobalAvgPoolForward& a);
void global_avg_pool_backward(const GlobalAvgPoolBackward& a);

namespace cpu {
void max_pool_forward(const MaxPoolForward& a);
void max_pool_backward(const MaxPoolBackward& a);
void global_avg_pool_forward(const GlobalAvgPoolForward& a);
void global_avg_pool_backward(const GlobalAvgPoolBackward& a);
}  // namespace cpu

namespace cuda {
void max_pool_forward(const MaxPoolForward& a);
void max_pool_backward(const MaxPoolBackward& a);
void global_avg_pool_forward(const GlobalAvgPoolForward& a);
void global_avg_pool_backward(const GlobalAvgPoolBackward& a);
}  // namespace cuda

}  // namespace senet
