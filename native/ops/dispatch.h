// Picks the backend for an op from the device its tensors live on.
#pragma once

#include "core/error.h"
#include "core/tensor.h"
#include "ops/validate.h"

namespace senet {

/// Fails with SENET_DEVICE for a device whose kernels this op does not have.
[[noreturn]] inline void unsupported_device(const Check& check, Device device) {
  check.fail(ErrorCode::Device,
             std::string("no ") + device_name(device) + " implementation of this op in this build");
}

}  // namespace senet
