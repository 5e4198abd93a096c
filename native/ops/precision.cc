#include "ops/precision.h"

namespace senet {

DType check_activation(const Check& c, const Tensor& t, const char* name) {
  c.usable(t, name);
  if (t.dtype != DType::F32 && t.dtype != DType::BF16)
    c.fail(ErrorCode::DType, std::string(name) + ": expected dtype float32 or bfloat16, received " + dtype_name(t.dtype));
  return t.dtype;
}

void check_precision(const Check& c, Device d, DType activation) {
  if (activation != DType::BF16) return;
  // Every GPU this build runs on has bf16 tensor cores (compute capability 8.0 and newer).
  if (d == Device::Cuda) return;
  static const CpuBf16 support = cpu_bf16();
  if (!support.fast) c.fail(ErrorCode::Unsupported, "bfloat16 tensors: " + support.reason);
}

}  // namespace senet
