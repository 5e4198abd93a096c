// Counter-based random numbers: element i of a seeded fill depends only on (seed, i), so CPU and
// CUDA produce the same tensor, in any order and on any number of threads.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define SENET_HD __host__ __device__ __forceinline__
#else
#define SENET_HD inline
#endif

namespace senet {

// splitmix64 finaliser (Steele, Lea, Flood: "Fast splittable pseudorandom number generators").
SENET_HD uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

SENET_HD uint64_t counter_bits(uint64_t seed, uint64_t index) {
  return mix64(mix64(seed + 0x9e3779b97f4a7c15ULL) ^ (index * 0x9e3779b97f4a7c15ULL));
}

/// Uniform in [0, 1) with 24 random bits.
SENET_HD float uniform01(uint64_t seed, uint64_t index) {
  return static_cast<float>(counter_bits(seed, index) >> 40) * (1.0f / 16777216.0f);
}

/// Standard normal by Box-Muller on two 32-bit halves of one draw, computed in double so that
/// host and device agree to the last bit of the float result in practice.
SENET_HD float normal01(uint64_t seed, uint64_t index) {
  uint64_t bits = counter_bits(seed, index);
  double u1 = (static_cast<double>(bits >> 32) + 1.0) * (1.0 / 4294967296.0);  // (0, 1]
  double u2 = static_cast<double>(bits & 0xffffffffULL) * (1.0 / 4294967296.0);
  return static_cast<float>(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

}  // namespace senet
