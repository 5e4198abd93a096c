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
  if (d == Device::Cuda)
    c.fail(ErrorCode::Unsupported,
           "bfloat16 tensors: the CUDA backend has no bf16 kernels in this build (precision 'bf16' runs on the CPU; "
           "use 'tf32' or 'fp32' on the GPU)");
  static const CpuBf16 support = cpu_bf16();
  if (!support.fast) c.fail(ErrorCode::Unsupported, "bfloat16 tensors: " + support.reason);
}

}  // namespace senet
