#include <cmath>
#include <cstring>

#include "core/bf16.h"
#include "core/rng.h"
#include "cpu/bf16_loops.h"
#include "ops/tensor_ops.h"

namespace senet::cpu {

namespace {

template <class T>
void fill_as(const Tensor& t, T value) {
  T* p = t.data<T>();
  const int64_t n = t.numel();
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) p[i] = value;
}

int64_t count_one(const Tensor& t) {
  const float* p = t.data<float>();
  const int64_t n = t.numel();
  int64_t bad = 0;
#pragma omp parallel for simd reduction(+ : bad) schedule(static)
  for (int64_t i = 0; i < n; ++i) bad += !std::isfinite(p[i]);
  return bad;
}

}  // namespace

void fill(const Fill& a) {
  const Tensor& t = a.tensor;
  switch (t.dtype) {
    case DType::F32: return fill_as<float>(t, static_cast<float>(a.value));
    case DType::I64: return fill_as<int64_t>(t, static_cast<int64_t>(a.value));
    case DType::I32: return fill_as<int32_t>(t, static_cast<int32_t>(a.value));
    case DType::U8: return fill_as<uint8_t>(t, static_cast<uint8_t>(a.value));
    case DType::BF16: return fill_as<bf16>(t, to_bf16(static_cast<float>(a.value)));
  }
}

void fill_random(const FillRandom& a) {
  float* p = a.tensor.data<float>();
  const int64_t n = a.tensor.numel();
  const uint64_t seed = a.seed;
  if (a.kind == FillRandom::Kind::Normal) {
    const float mean = a.a, std = a.b;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) p[i] = mean + std * normal01(seed, static_cast<uint64_t>(i));
  } else {
    const float low = a.a, span = a.b - a.a;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) p[i] = low + span * uniform01(seed, static_cast<uint64_t>(i));
  }
}

namespace {
template <class T>
void add_as(const Add& a) {
  const T* ap = a.a.data<T>();
  const T* bp = a.b.data<T>();
  T* op = a.out.data<T>();
  const int64_t n = a.out.numel();
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) store(op, i, load(ap, i) + load(bp, i));
}

template <class From, class To>
void cast_as(const Cast& a) {
  const From* x = a.x.data<From>();
  To* y = a.y.data<To>();
  const int64_t n = a.x.numel();
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) store(y, i, load(x, i));
}
}  // namespace

void add(const Add& a) { a.out.dtype == DType::BF16 ? add_bf16(a) : add_as<float>(a); }

void cast(const Cast& a) {
  const bool from16 = a.x.dtype == DType::BF16, to16 = a.y.dtype == DType::BF16;
  if (from16 == to16) {
    std::memmove(a.y.raw(), a.x.raw(), a.x.nbytes());
  } else if (from16) {
    cast_as<bf16, float>(a);
  } else {
    cast_as<float, bf16>(a);
  }
}

void count_non_finite(const CountNonFinite& a) {
  int64_t bad = a.accumulate ? *a.count.data<int32_t>() : 0;
  for (const Tensor& t : a.tensors) bad += count_one(t);
  *a.count.data<int32_t>() = static_cast<int32_t>(bad > 2147483647 ? 2147483647 : bad);
}

void to_channels_last(const ToChannelsLast& a) {
  const int64_t n = a.x.dim(0), c = a.x.dim(1), hw = a.x.dim(2) * a.x.dim(3);
  const float* x = a.x.data<float>();
  float* y = a.y.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t q = 0; q < hw; ++q)
      for (int64_t k = 0; k < c; ++k) y[(i * hw + q) * c + k] = x[(i * c + k) * hw + q];
}

template <class T>
void normalize_bytes_as(const NormalizeBytes& a) {
  const uint8_t* x = a.x.data<uint8_t>();
  const float* table = a.table.data<float>();
  T* y = a.y.data<T>();
  const int64_t channels = a.x.shape.back(), pixels = a.x.numel() / channels;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t k = 0; k < channels; ++k) store(y, p * channels + k, table[k * 256 + x[p * channels + k]]);
}

void normalize_bytes(const NormalizeBytes& a) {
  if (a.x.numel() == 0) return;
  a.y.dtype == DType::BF16 ? normalize_bytes_as<bf16>(a) : normalize_bytes_as<float>(a);
}

void copy_if(const Copy& a) {
  if (a.only_if.storage && *a.only_if.data<int32_t>() == 0) return;
  if (a.src.nbytes()) std::memmove(a.dst.raw(), a.src.raw(), a.src.nbytes());
}

}  // namespace senet::cpu
