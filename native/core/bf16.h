// bfloat16 as stored: the top 16 bits of an IEEE float32. Conversions here are what both backends
// use (round to nearest even, NaN kept a NaN), so a bf16 tensor written on the CPU reads the same
// on the GPU and in PyTorch (torch.bfloat16 rounds the same way).
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define SENET_BF16_HD __host__ __device__ __forceinline__
#else
#define SENET_BF16_HD inline
#endif

namespace senet {

/// One bfloat16 value by its bits (a distinct type, so that a bf16 buffer is never read as floats).
struct bf16 {
  uint16_t bits;
};

SENET_BF16_HD uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}

SENET_BF16_HD float bits_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}

/// float -> bf16, round to nearest even; a NaN stays a (quiet) NaN, infinities stay infinite.
SENET_BF16_HD bf16 to_bf16(float f) {
  const uint32_t u = float_bits(f);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const uint32_t nan = (u >> 16) | 0x40u;
  // A select rather than an early return, so that loops over it vectorise.
  return bf16{static_cast<uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? nan : rounded)};
}

SENET_BF16_HD float to_float(bf16 h) { return bits_float(static_cast<uint32_t>(h.bits) << 16); }

// Loads and stores that read either element type as float: our own loops are written once for
// float32 and bf16 activations (templates over T).
SENET_BF16_HD float load(const float* p, int64_t i) { return p[i]; }
SENET_BF16_HD float load(const bf16* p, int64_t i) { return to_float(p[i]); }
SENET_BF16_HD void store(float* p, int64_t i, float v) { p[i] = v; }
SENET_BF16_HD void store(bf16* p, int64_t i, float v) { p[i] = to_bf16(v); }

}  // namespace senet
