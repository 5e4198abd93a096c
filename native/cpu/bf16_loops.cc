// senet's own loops over bf16 data (mixed precision), compiled for AVX-512: bf16 runs only
// where the CPU has avx512_core_bf16 (ops/precision.cc refuses it elsewhere), and every such CPU
// has the extensions named below; the float32 code stays baseline x86-64, so the prebuilt binary
// runs on any x86-64 CPU. Measured on the development VM (2-core Xeon with AMX), the SE block's
// scale pass over 8x56x56x256 bf16 values took 3.6-5.0 ms compiled for baseline x86-64 (scalar
// bf16 rounding) and 0.9-1.3 ms for AVX-512, against 1.6-2.2 ms in float32.
//
// CMakeLists.txt compiles it with -ffp-contract=off: the loops round after each operation, as the
// baseline build does, so SGD with the bf16 copy moves the float32 weights exactly as without it.
//
// Everything this file includes comes before the target pragma, so inline functions from headers
// stay baseline (they are inlined into these loops, never replaced by AVX-512 copies elsewhere);
// the loops themselves have internal linkage or bf16-only names.
#include "cpu/bf16_loops.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "core/bf16.h"
#include "ops/dispatch.h"
#include "ops/maths.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq")
#endif

namespace senet::cpu {

namespace {

#include "cpu/se_loops.inc"
#include "cpu/sgd_loop.inc"

// Rows summed in float before each partial sum goes into a double: float vectors run at twice
// double's width, and 64 rows keep the float sums' rounding error negligible.
constexpr int64_t kSumBlock = 64;

// Two per-channel sums over (rows, C): row(i, a, b) adds row i's two quantities into a and b (C
// floats each). Each thread sums its rows in float over kSumBlock-row blocks, then in double; the
// totals come back in scratch (C doubles each), followed by `extra` floats for the caller.
struct ChannelSums {
  const double* first;
  const double* second;
  float* extra;
};

template <class Row>
ChannelSums channel_sums(int64_t rows, int64_t c, int64_t extra, const Row& row) {
  const int threads = omp_get_max_threads();
  // Per thread: double sums (2C), float block sums (2C = C doubles); then the totals (2C) and extra.
  double* buf = scratch_as<double>(Scratch::Small, static_cast<size_t>((threads * 3 + 2) * c + (extra + 1) / 2));
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    double* __restrict s1 = buf + static_cast<int64_t>(t) * 3 * c;
    double* __restrict s2 = s1 + c;
    float* __restrict b1 = reinterpret_cast<float*>(s2 + c);
    float* __restrict b2 = b1 + c;
    for (int64_t k = 0; k < c; ++k) s1[k] = s2[k] = 0.0;
    const int64_t per = (rows + threads - 1) / threads, r0 = std::min(rows, t * per), r1 = std::min(rows, r0 + per);
    for (int64_t b0 = r0; b0 < r1; b0 += kSumBlock) {
      for (int64_t k = 0; k < c; ++k) b1[k] = b2[k] = 0.f;
      for (int64_t i = b0; i < std::min(r1, b0 + kSumBlock); ++i) row(i, b1, b2);
      for (int64_t k = 0; k < c; ++k) {
        s1[k] += b1[k];
        s2[k] += b2[k];
      }
    }
  }
  double* total = buf + static_cast<int64_t>(threads) * 3 * c;
  for (int64_t k = 0; k < c; ++k) {
    double t1 = 0, t2 = 0;
    for (int t = 0; t < threads; ++t) {
      t1 += buf[static_cast<int64_t>(t) * 3 * c + k];
      t2 += buf[static_cast<int64_t>(t) * 3 * c + c + k];
    }
    total[k] = t1;
    total[c + k] = t2;
  }
  return {total, total + c, reinterpret_cast<float*>(total + 2 * c)};
}

// Training-mode batch norm's backward (+ the ReLU's mask from y) of mixed precision, one loop of
// our own in two passes over bf16 dy, y, z (oneDNN 2.6's bf16 batch-norm backward took ~5 ns an
// element here, a third of a large layer's backward): g = dy where y > 0; dbeta = sum g, dgamma =
// sum g xhat; dz = gamma / std (g - dbeta / M - xhat dgamma / M) in bf16.
template <bool kRelu>
void batch_norm_backward_as(const bf16* dy, const bf16* y, const bf16* z, int64_t rows, int64_t c, const float* gamma,
                            const float* mean, const float* var, float eps, float* dgamma, float* dbeta, bf16* dz) {
  // Sums of g and of g (z - mean).
  ChannelSums sums = channel_sums(rows, c, 3 * c, [&](int64_t i, float* __restrict sg, float* __restrict sgx) {
    const bf16* __restrict dr = dy + i * c;
    const bf16* __restrict yr = y + i * c;
    const bf16* __restrict zr = z + i * c;
#pragma omp simd
    for (int64_t k = 0; k < c; ++k) {
      const float d = load(dr, k);
      const float g = kRelu ? (load(yr, k) > 0.f ? d : 0.f) : d;
      sg[k] += g;
      sgx[k] += g * (load(zr, k) - mean[k]);
    }
  });
  // dz = a g + b (z - mean) + off, per channel.
  float *a = sums.extra, *b = a + c, *off = b + c;
  for (int64_t k = 0; k < c; ++k) {
    const double t1 = sums.first[k], t2 = sums.second[k];
    const double inv = 1.0 / std::sqrt(static_cast<double>(var[k]) + eps);
    dbeta[k] = static_cast<float>(t1);
    dgamma[k] = static_cast<float>(t2 * inv);
    const double scale = gamma[k] * inv;
    a[k] = static_cast<float>(scale);
    b[k] = static_cast<float>(-scale * inv * inv * t2 / static_cast<double>(rows));
    off[k] = static_cast<float>(-scale * t1 / static_cast<double>(rows));
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows; ++i) {
    const bf16* __restrict dr = dy + i * c;
    const bf16* __restrict yr = y + i * c;
    const bf16* __restrict zr = z + i * c;
    bf16* __restrict out = dz + i * c;
#pragma omp simd
    for (int64_t k = 0; k < c; ++k) {
      const float d = load(dr, k);
      const float g = kRelu ? (load(yr, k) > 0.f ? d : 0.f) : d;
      store(out, k, a[k] * g + b[k] * (load(zr, k) - mean[k]) + off[k]);
    }
  }
}

}  // namespace

// y: the forward's output, for the ReLU's mask, or null without a ReLU.
void batch_norm_backward(const bf16* dy, const bf16* y, const bf16* z, int64_t rows, int64_t c, const float* gamma,
                         const float* mean, const float* var, float eps, float* dgamma, float* dbeta, bf16* dz) {
  if (y) batch_norm_backward_as<true>(dy, y, z, rows, c, gamma, mean, var, eps, dgamma, dbeta, dz);
  else batch_norm_backward_as<false>(dy, dy, z, rows, c, gamma, mean, var, eps, dgamma, dbeta, dz);
}

// Training-mode batch norm (+ ReLU) of mixed precision over (rows, C) float32 z: the batch mean
// and biased variance (channel_sums), y in bf16, and z's bf16 rounding kept for backward.
void batch_norm_training(const float* z, bf16* y, bf16* z_keep, int64_t rows, int64_t c, const float* gamma,
                         const float* beta, float* mean, float* var, float eps, bool relu) {
  ChannelSums sums = channel_sums(rows, c, 2 * c, [&](int64_t i, float* __restrict s1, float* __restrict s2) {
    const float* __restrict zr = z + i * c;
#pragma omp simd
    for (int64_t k = 0; k < c; ++k) {
      s1[k] += zr[k];
      s2[k] += zr[k] * zr[k];
    }
  });
  // y = z scale + shift, per channel.
  float *sc = sums.extra, *sh = sc + c;
  for (int64_t k = 0; k < c; ++k) {
    const double m = sums.first[k] / static_cast<double>(rows);
    const double v = std::max(sums.second[k] / static_cast<double>(rows) - m * m, 0.0);
    mean[k] = static_cast<float>(m);
    var[k] = static_cast<float>(v);
    sc[k] = static_cast<float>(gamma[k] / std::sqrt(v + eps));
    sh[k] = static_cast<float>(beta[k] - m * gamma[k] / std::sqrt(v + eps));
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows; ++i) {
    const float* __restrict zr = z + i * c;
    bf16* __restrict yr = y + i * c;
    bf16* __restrict kr = z_keep + i * c;
#pragma omp simd
    for (int64_t k = 0; k < c; ++k) {
      const float v = zr[k] * sc[k] + sh[k];
      store(yr, k, relu && v < 0.f ? 0.f : v);  // NaN passes, as in PyTorch's relu
      store(kr, k, zr[k]);
    }
  }
}

// A float32 copy of `count` bf16 values in a scratch slot (exact: bf16 is a subset of float32).
const float* to_float32(const void* src, int64_t count, Scratch slot) {
  float* out = scratch_as<float>(slot, static_cast<size_t>(count));
  const bf16* in = static_cast<const bf16*>(src);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) out[i] = to_float(in[i]);
  return out;
}
const float* to_float32(const Tensor& t, Scratch slot) { return to_float32(t.raw(), t.numel(), slot); }

void from_float32(const float* src, const Tensor& dst) {
  bf16* out = dst.data<bf16>();
  const int64_t n = dst.numel();
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = to_bf16(src[i]);
}

void add_bf16(const Add& a) {
  const bf16* ap = a.a.data<bf16>();
  const bf16* bp = a.b.data<bf16>();
  bf16* op = a.out.data<bf16>();
  const int64_t n = a.out.numel();
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) store(op, i, load(ap, i) + load(bp, i));
}

void sgd_step_bf16_copy(const SgdRule& r, int64_t n, float* w, const float* g, float* buf, bf16* copy) {
  if (r.momentum) step_as<true, true>(r, n, w, g, buf, copy);
  else step_as<false, true>(r, n, w, g, nullptr, copy);
}

void se_forward_bf16(const SeForward& a) { forward<bf16>(a); }

void se_backward_bf16(const SeBackward& a) { backward<bf16>(a); }

}  // namespace senet::cpu

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif
