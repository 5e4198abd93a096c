// Device allocation hooks used by Storage. The CUDA backend (native/cuda/memory.cu) defines them
// with the stream-ordered pool; without CUDA they say that no GPU backend was built.
#pragma once

#include <cstddef>
#include <cstdint>

namespace senet {

void* device_alloc(size_t bytes);
void device_free(void* ptr) noexcept;
/// Waits for the frees queued so far and returns the pool's unused memory to the driver.
void device_trim() noexcept;
/// Bytes the memory pool holds from the driver (in use or cached); 0 without a GPU context.
int64_t device_pool_bytes() noexcept;

}  // namespace senet
