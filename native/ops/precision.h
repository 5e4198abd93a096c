// Which element types an op's activations may have, and where bfloat16 may run. Mixed precision
// keeps activations (and the weight copies convolutions read) in bf16 and everything that
// accumulates or normalises in float32; each op states the dtype of every argument in its header.
#pragma once

#include <string>

#include "core/tensor.h"
#include "ops/validate.h"

namespace senet {

/// What the CPU offers for bf16: fast (a bf16 ISA oneDNN uses natively) or not, and why.
struct CpuBf16 {
  bool fast = false;
  std::string isa;  // oneDNN's effective ISA, e.g. "avx512_core_amx"
  std::string reason;  // when not fast: what is missing
};
CpuBf16 cpu_bf16();

/// The activation dtype of t: float32 or bfloat16 (anything else fails with SENET_DTYPE).
DType check_activation(const Check& c, const Tensor& t, const char* name);

/// Fails with SENET_UNSUPPORTED when bf16 activations cannot run on d: a CPU without a bf16 ISA
/// (oneDNN would emulate it slowly). The CUDA backend runs bf16 on every GPU it supports.
void check_precision(const Check& c, Device d, DType activation);

}  // namespace senet
