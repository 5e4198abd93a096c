// What oneDNN will use for bf16 on this CPU. Below avx512_core_bf16 its bf16 kernels convert in
// software (several times slower than float32), so bf16 is refused there rather than emulated.
#include <dnnl.hpp>

#include "ops/precision.h"

namespace senet {

namespace {
const char* isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "unknown";
  }
}
}  // namespace

CpuBf16 cpu_bf16() {
  CpuBf16 s;
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  s.isa = isa_name(isa);
  // The effective ISA honours DNNL_MAX_CPU_ISA, so a capped process is refused like an old CPU.
  s.fast = isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
  if (!s.fast)
    s.reason = "this CPU has no bf16 instructions oneDNN uses (effective ISA " + s.isa +
               "; bf16 needs avx512_core_bf16 or AMX): use precision 'fp32'";
  return s;
}

}  // namespace senet
