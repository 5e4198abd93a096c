// senet's grouped convolution for bf16 activations with 1-8 channels per group (grouped_conv.h).
//
// Channels-last, one output pixel's 16 consecutive channels are one AVX-512 vector: they belong to
// 16 / cpg whole groups, whose inputs are the same 16 channels of the input pixel. For each tap and
// each input channel j of a group, a permutation spreads input channel (group, j) over its group's
// output lanes, and one multiply-add with that tap's weights of (lane, j) accumulates. Four output
// pixels share each weight vector. Sums are float32 in a fixed order (tap by tap, j by j), so
// runs repeat bit for bit whatever the thread count.
//
// Compiled for AVX-512 (see bf16_loops.cc for why that is safe, and -ffp-contract=off in
// CMakeLists.txt); the multiply-adds are explicit fused ones.
#include "cpu/grouped_conv.h"

// The kernel is built by GCC for x86-64 (the prebuilt binaries' compiler); elsewhere the predicate
// says no and oneDNN runs every grouped convolution.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SENET_GROUPED_KERNEL 1
#endif

#ifdef SENET_GROUPED_KERNEL
// GCC 12's AVX-512 intrinsics warn that their own _mm512_undefined_* placeholders are uninitialised
// (GCC bug 105593, fixed in 13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

#include <algorithm>
#include <vector>

namespace senet::cpu {

constexpr int kLanes = 16;

// Baseline code, outside the AVX-512 region: callers may ask before knowing the CPU.
bool grouped_conv_fits(const GroupedConv& g) {
#ifndef SENET_GROUPED_KERNEL
  return false;
#endif
  if (g.groups <= 1 || g.c % g.groups != 0 || g.c % kLanes != 0) return false;
  const int64_t cpg = g.c / g.groups;
  return cpg == 1 || cpg == 2 || cpg == 4 || cpg == 8;
}

}  // namespace senet::cpu

#ifdef SENET_GROUPED_KERNEL
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq")

namespace senet::cpu {

namespace {

constexpr int kPixels = 4;  // output pixels sharing each weight vector

// 16 bf16 values widened to float32 (exact).
inline __m512 load_bf16(const bf16* p) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// Weights repacked as (C / 16, kH kW, cpg, 16): for lane l of block b, tap t, input channel j,
// w[b * 16 + l][t][j].
std::vector<float> pack_weights(const GroupedConv& g, int cpg, const bf16* w) {
  const int64_t taps = g.kh * g.kw, blocks = g.c / kLanes;
  std::vector<float> out(static_cast<size_t>(g.c * taps * cpg));
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t t = 0; t < taps; ++t)
      for (int j = 0; j < cpg; ++j)
        for (int l = 0; l < kLanes; ++l)
          out[static_cast<size_t>(((b * taps + t) * cpg + j) * kLanes + l)] =
              to_float(w[((b * kLanes + l) * taps + t) * cpg + j]);
  return out;
}

// The four accumulators of one block of output pixels, kept in registers (an array indexed in a
// loop went to the stack: a load and a store around every multiply-add).
struct Acc {
  __m512 a0, a1, a2, a3;
};

// Sums of one output row's pixels [ow0, ow0 + count) (count <= 4) for channel block b.
template <int CPG>
__attribute__((always_inline)) inline Acc accumulate(const GroupedConv& g, const bf16* x, const float* wp,
                                                     const __m512i* spread, int64_t n, int64_t oh, int64_t ow0,
                                                     int count, int64_t b) {
  const int64_t taps = g.kh * g.kw;
  Acc s{_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  for (int64_t ki = 0; ki < g.kh; ++ki) {
    const int64_t ih = oh * g.sh - g.ph + ki;
    if (ih < 0 || ih >= g.h) continue;  // padding rows add nothing
    const bf16* row = x + (n * g.h + ih) * g.w * g.c + b * kLanes;
    for (int64_t kj = 0; kj < g.kw; ++kj) {
      auto pixel = [&](int p) {
        const int64_t iw = (ow0 + p) * g.sw - g.pw + kj;
        return p < count && iw >= 0 && iw < g.w ? load_bf16(row + iw * g.c) : _mm512_setzero_ps();
      };
      const __m512 i0 = pixel(0), i1 = pixel(1), i2 = pixel(2), i3 = pixel(3);
      const float* wt = wp + ((b * taps + ki * g.kw + kj) * CPG) * kLanes;
#pragma GCC unroll 8
      for (int j = 0; j < CPG; ++j) {
        const __m512 wv = _mm512_loadu_ps(wt + j * kLanes);
        const __m512i sp = spread[j];
        s.a0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(sp, i0), wv, s.a0);
        s.a1 = _mm512_fmadd_ps(_mm512_permutexvar_ps(sp, i1), wv, s.a1);
        s.a2 = _mm512_fmadd_ps(_mm512_permutexvar_ps(sp, i2), wv, s.a2);
        s.a3 = _mm512_fmadd_ps(_mm512_permutexvar_ps(sp, i3), wv, s.a3);
      }
    }
  }
  return s;
}

// Runs the convolution, handing each finished vector (16 channels of one pixel, at element
// offset `at` of the output) to `emit`.
template <int CPG, class Emit>
void run(const GroupedConv& g, const bf16* x, const bf16* w, const Emit& emit) {
  const std::vector<float> wp = pack_weights(g, CPG, w);
  __m512i spread[CPG];
  for (int j = 0; j < CPG; ++j) {
    alignas(64) int idx[kLanes];
    for (int l = 0; l < kLanes; ++l) idx[l] = l / CPG * CPG + j;
    spread[j] = _mm512_load_si512(idx);
  }
  const int64_t blocks = g.c / kLanes, rows = g.n * g.ho;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / g.ho, oh = r % g.ho;
    for (int64_t ow0 = 0; ow0 < g.wo; ow0 += kPixels) {
      const int count = static_cast<int>(std::min<int64_t>(kPixels, g.wo - ow0));
      for (int64_t b = 0; b < blocks; ++b) {
        const Acc s = accumulate<CPG>(g, x, wp.data(), spread, n, oh, ow0, count, b);
        const int64_t at = (r * g.wo + ow0) * g.c + b * kLanes;
        emit(at, b * kLanes, s.a0);
        if (count > 1) emit(at + g.c, b * kLanes, s.a1);
        if (count > 2) emit(at + 2 * g.c, b * kLanes, s.a2);
        if (count > 3) emit(at + 3 * g.c, b * kLanes, s.a3);
      }
    }
  }
}

template <class Emit>
void dispatch(const GroupedConv& g, const bf16* x, const bf16* w, const Emit& emit) {
  switch (g.c / g.groups) {
    case 1: return run<1>(g, x, w, emit);
    case 2: return run<2>(g, x, w, emit);
    case 4: return run<4>(g, x, w, emit);
    default: return run<8>(g, x, w, emit);
  }
}

}  // namespace

void grouped_conv_forward(const GroupedConv& g, const bf16* x, const bf16* w, float* z) {
  dispatch(g, x, w, [z](int64_t at, int64_t, __m512 v) { _mm512_storeu_ps(z + at, v); });
}

void grouped_conv_forward(const GroupedConv& g, const bf16* x, const bf16* w, const float* scale, const float* shift,
                          bool relu, bf16* y) {
  dispatch(g, x, w, [=](int64_t at, int64_t ch, __m512 v) {
    // Separate multiply and add, as oneDNN's post-ops and our float32 loop compute it.
    v = _mm512_add_ps(_mm512_mul_ps(v, _mm512_loadu_ps(scale + ch)), _mm512_loadu_ps(shift + ch));
    if (relu) v = _mm512_max_ps(_mm512_setzero_ps(), v);  // a NaN (second operand) passes
    alignas(64) float f[kLanes];
    _mm512_store_ps(f, v);
    for (int l = 0; l < kLanes; ++l) y[at + l] = to_bf16(f[l]);
  });
}

}  // namespace senet::cpu

#pragma GCC pop_options
#pragma GCC diagnostic pop

#else  // no kernel: grouped_conv_fits() is false, so these are never called

namespace senet::cpu {
void grouped_conv_forward(const GroupedConv&, const bf16*, const bf16*, float*) {}
void grouped_conv_forward(const GroupedConv&, const bf16*, const bf16*, const float*, const float*, bool, bf16*) {}
}  // namespace senet::cpu

#endif
