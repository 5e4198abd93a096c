#include "ops/window.h"

namespace senet {

int64_t window_output_size(int64_t in, int kernel, int stride, int pad) {
  const int64_t span = in + 2 * static_cast<int64_t>(pad) - kernel;
  return span < 0 ? 0 : span / stride + 1;
}

void check_window(const Check& c, const Window& w) {
  c.positive(w.kernel_h, "kernelH");
  c.positive(w.kernel_w, "kernelW");
  c.positive(w.stride_h, "strideH");
  c.positive(w.stride_w, "strideW");
  c.non_negative(w.pad_h, "padH");
  c.non_negative(w.pad_w, "padW");
}

}  // namespace senet
