// Fully connected layer, PyTorch layout: y = x w^T + b. x (N, In), w (Out, In), b (Out), y (N, Out).
#pragma once

#include "core/tensor.h"

namespace senet {

void linear_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y);
/// dx optional; dw overwritten; db optional (and required when the forward had a bias).
void linear_backward(const Tensor& dy, const Tensor& x, const Tensor& w, Tensor* dx, Tensor& dw,
                     Tensor* db);

namespace cpu {
void linear_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y);
void linear_backward(const Tensor& dy, const Tensor& x, const Tensor& w, Tensor* dx, Tensor& dw,
                     Tensor* db);
}  // namespace cpu

namespace cuda {
void linear_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y);
void linear_backward(const Tensor& dy, const Tensor& x, const Tensor& w, Tensor* dx, Tensor& dw,
                     Tensor* db);
}  // namespace cuda

}  // namespace senet
