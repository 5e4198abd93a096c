// The SE block on the CPU: our own loops (oneDNN has no fused gate), in cpu/se_loops.inc; float32
// here, bf16 in bf16_loops.cc (compiled for AVX-512).
#include <cmath>

#include "core/bf16.h"
#include "cpu/bf16_loops.h"
#include "cpu/dnnl_context.h"
#include "ops/dispatch.h"
#include "ops/maths.h"
#include "ops/se.h"

namespace senet::cpu {

namespace {

#include "cpu/se_loops.inc"

}  // namespace

void se_forward(const SeForward& a) { a.u.dtype == DType::BF16 ? se_forward_bf16(a) : forward<float>(a); }

void se_backward(const SeBackward& a) { a.u.dtype == DType::BF16 ? se_backward_bf16(a) : backward<float>(a); }

}  // namespace senet::cpu
