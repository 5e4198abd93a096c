// A sliding window (kernel, stride and zero padding, as height and width), shared by convolution
// and pooling on both backends.
#pragma once

#include <cstdint>

#include "ops/validate.h"

namespace senet {

struct Window {
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
};

/// Output size for an input size, kernel, stride and padding (PyTorch's floor rule); 0 when the
/// window does not fit.
int64_t window_output_size(int64_t in, int kernel, int stride, int pad);

/// Kernel and stride positive, padding >= 0.
void check_window(const Check& c, const Window& w);

}  // namespace senet
