// Element-wise tensor utilities: fills (constant, seeded uniform / normal), host copies, add.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace senet {

void fill(Tensor& t, double value);
/// Seeded normal fill; element i depends only on (seed, i), identical across backends.
void fill_normal(Tensor& t, float mean, float std, uint64_t seed);
void fill_uniform(Tensor& t, float low, float high, uint64_t seed);
void copy_from_host(Tensor& t, const void* src, size_t bytes);
void copy_to_host(const Tensor& t, void* dst, size_t bytes);
/// dst = src (same dtype and element count; devices may differ).
void copy(const Tensor& src, Tensor& dst);
/// out = a + b, float32, same shapes; out may alias a or b.
void add(const Tensor& a, const Tensor& b, Tensor& out);
/// How many float32 elements are NaN or infinite (reads the count back: a device sync on CUDA).
int64_t count_non_finite(const Tensor& t);

namespace cpu {
void fill(Tensor& t, double value);
void fill_normal(Tensor& t, float mean, float std, uint64_t seed);
void fill_uniform(Tensor& t, float low, float high, uint64_t seed);
void add(const Tensor& a, const Tensor& b, Tensor& out);
int64_t count_non_finite(const Tensor& t);
}  // namespace cpu

namespace cuda {
void fill(Tensor& t, double value);
void fill_normal(Tensor& t, float mean, float std, uint64_t seed);
void fill_uniform(Tensor& t, float low, float high, uint64_t seed);
void add(const Tensor& a, const Tensor& b, Tensor& out);
int64_t count_non_finite(const Tensor& t);
void copy_from_host(Tensor& t, const void* src, size_t bytes);
void copy_to_host(const Tensor& t, void* dst, size_t bytes);
void copy_device(const Tensor& src, Tensor& dst);  // both on the GPU
}  // namespace cuda

}  // namespace senet
