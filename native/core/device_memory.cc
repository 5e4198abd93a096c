#include "core/device_memory.h"

#include "core/error.h"

#ifndef SENET_WITH_CUDA
namespace senet {

void* device_alloc(size_t) {
  throw_error(ErrorCode::Device, "this build of senet has no CUDA backend (built without nvcc)");
}

void device_free(void*) noexcept {}

}  // namespace senet
#endif
