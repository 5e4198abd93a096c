// Device memory for Storage. The stream-ordered pool and the backend context arrive with the
// CUDA backend; until then a CUDA tensor is refused with a clear error.
#include "core/device_memory.h"
#include "core/error.h"

namespace senet {

void* device_alloc(size_t) {
  throw_error(ErrorCode::Device, "the CUDA backend is not available in this build yet");
}

void device_free(void*) noexcept {}

}  // namespace senet
