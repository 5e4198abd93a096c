// The CUDA hooks of a build without nvcc: every CUDA request is refused with the reason.
#ifndef SENET_WITH_CUDA

#include "core/cuda_probe.h"
#include "core/device_memory.h"
#include "core/error.h"

namespace senet {

namespace {
const char* kNotBuilt = "this build of senet has no CUDA backend (it was built without nvcc)";
}

void* device_alloc(size_t) { throw_error(ErrorCode::Device, kNotBuilt); }

void device_free(void*) noexcept {}

void device_trim() noexcept {}

int64_t device_pool_bytes() noexcept { return 0; }

CudaProbe probe_cuda() {
  CudaProbe p;
  p.reason = kNotBuilt;
  return p;
}

void select_cuda_device(int) { throw_error(ErrorCode::Device, kNotBuilt); }

void cuda_synchronize() {}

CudaConvSelection cuda_conv_selection() { return {}; }

std::vector<CudaConvAlgorithms> cuda_conv_algorithms() { return {}; }

}  // namespace senet

#endif
