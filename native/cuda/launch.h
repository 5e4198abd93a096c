// Launch geometry shared by our kernels.
#pragma once

#include <algorithm>
#include <cstdint>

namespace senet::cuda {

constexpr int kThreads = 256;

/// Blocks for a grid-stride loop over n items: enough to fill the GPU, never more than needed.
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(b, 65535 * 8)));
}

}  // namespace senet::cuda
