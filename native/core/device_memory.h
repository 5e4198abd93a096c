// Device allocation hooks used by Storage. The CUDA backend (native/cuda/memory.cu) defines them
// with the stream-ordered pool; without CUDA they say that no GPU backend was built.
#pragma once

#include <cstddef>

namespace senet {

void* device_alloc(size_t bytes);
void device_free(void* ptr) noexcept;

}  // namespace senet
