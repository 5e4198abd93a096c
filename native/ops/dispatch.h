// Picks the backend for an op from the device its tensors live on.
#pragma once

#include "core/error.h"
#include "core/tensor.h"
#include "ops/validate.h"

namespace senet {

// Runs `call` in namespace cuda when the tensors are on the GPU and CUDA was built.
#ifdef SENET_WITH_CUDA
#define SENET_ON_CUDA(device, call) \
  if ((device) == ::senet::Device::Cuda) return ::senet::cuda::call
#else
#define SENET_ON_CUDA(device, call) \
  do {                              \
  } while (0)
#endif

/// Fails with SENET_DEVICE for a device whose kernels this op does not have.
[[noreturn]] inline void unsupported_device(const Check& check, Device device) {
  check.fail(ErrorCode::Device,
             std::string("no ") + device_name(device) + " implementation of this op in this build");
}

}  // namespace senet
