#include <cmath>
#include <cstring>

#include "core/rng.h"
#include "ops/tensor_ops.h"

namespace senet::cpu {

namespace {

template <class T>
void fill_as(Tensor& t, T value) {
  T* p = t.data<T>();
  const int64_t n = t.numel();
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) p[i] = value;
}

}  // namespace

void fill(Tensor& t, double value) {
  switch (t.dtype) {
    case DType::F32: return fill_as<float>(t, static_cast<float>(value));
    case DType::I64: return fill_as<int64_t>(t, static_cast<int64_t>(value));
    case DType::I32: return fill_as<int32_t>(t, static_cast<int32_t>(value));
    case DType::U8: return fill_as<uint8_t>(t, static_cast<uint8_t>(value));
  }
}

void fill_normal(Tensor& t, float mean, float std, uint64_t seed) {
  float* p = t.data<float>();
  const int64_t n = t.numel();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) p[i] = mean + std * normal01(seed, static_cast<uint64_t>(i));
}

void fill_uniform(Tensor& t, float low, float high, uint64_t seed) {
  float* p = t.data<float>();
  const int64_t n = t.numel();
  const float span = high - low;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) p[i] = low + span * uniform01(seed, static_cast<uint64_t>(i));
}

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  const float* ap = a.data<float>();
  const float* bp = b.data<float>();
  float* op = out.data<float>();
  const int64_t n = out.numel();
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) op[i] = ap[i] + bp[i];
}

int64_t count_non_finite(const Tensor& t) {
  const float* p = t.data<float>();
  const int64_t n = t.numel();
  int64_t bad = 0;
#pragma omp parallel for simd reduction(+ : bad) schedule(static)
  for (int64_t i = 0; i < n; ++i) bad += !std::isfinite(p[i]);
  return bad;
}

}  // namespace senet::cpu
