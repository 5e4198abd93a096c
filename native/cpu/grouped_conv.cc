// senet's grouped convolution for bf16 activations with 2, 4 or 8 channels per group (grouped_conv.h),
// forward and (at stride 1) the input gradient, which is the same kernel on dz with turned weights.
//
// Channels-last, one output pixel's 16 consecutive channels are one AVX-512 vector: they belong to
// 16 / cpg whole groups, whose inputs are the same 16 channels of the input pixel. For each tap and
// each pair of input channels of a group, a permutation spreads the pair over its group's output
// lanes, and one bf16 dot product (vdpbf16ps) with that tap's weights of (lane, pair) accumulates. Four output
// pixels share each weight vector. Sums are float32 in a fixed order (tap by tap, j by j), so
// runs repeat bit for bit whatever the thread count. On the development VM (2 vCPUs), stage 1 of
// SE-ResNeXt-50 at 224 px batch 8 (8x56x56x128, 32 groups of 4) took 10 ms with the accumulators
// on the stack, 4.3 ms in registers, 3.4 ms with the dot products and no bounds checks inside.
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
  return cpg == 2 || cpg == 4 || cpg == 8;
}

bool grouped_conv_backward_weights_fits(const GroupedConv& g) {
  return grouped_conv_fits(g) && (g.c / g.groups < 8 || g.sh != 1 || g.sw != 1);
}

bool grouped_conv_backward_data_fits(const GroupedConv& g) {
  return grouped_conv_fits(g) && g.sh == 1 && g.sw == 1 && g.ph < g.kh && g.pw < g.kw &&
         g.ho == g.h + 2 * g.ph - g.kh + 1 && g.wo == g.w + 2 * g.pw - g.kw + 1;
}

}  // namespace senet::cpu

#ifdef SENET_GROUPED_KERNEL
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")

namespace senet::cpu {

namespace {

constexpr int kPixels = 4;  // output pixels sharing each weight vector

// to_bf16 (core/bf16.h) on 16 lanes: round to nearest even, a NaN kept a quiet NaN.
inline __m256i round_bf16(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), odd), 16);
  const __m512i nan = _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
  const __mmask16 is_nan =
      _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  return _mm512_cvtepi32_epi16(_mm512_mask_blend_epi32(is_nan, rounded, nan));
}

// 16 bf16 values (one pixel's channels of a block).
inline __m256i load16(const bf16* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// Two halves as one vector.
inline __m512i join(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }

// 16 bf16 values as 8 pairs in the low half of a vector (the upper half zero).
inline __m512i load_pairs(const bf16* p) {
  return _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// Weights repacked in pairs of input channels, (C / 16, kH kW, cpg / 2, 16) 32-bit words: for
// lane l of block b, tap t, pair k, w[b * 16 + l][t][2k] in the low half and [2k + 1] in the high.
std::vector<uint32_t> pack_weight_pairs(const GroupedConv& g, int cpg, const bf16* w) {
  const int64_t taps = g.kh * g.kw, blocks = g.c / kLanes;
  std::vector<uint32_t> out(static_cast<size_t>(g.c * taps * cpg / 2));
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t t = 0; t < taps; ++t)
      for (int k = 0; k < cpg / 2; ++k)
        for (int l = 0; l < kLanes; ++l) {
          const bf16* at = w + ((b * kLanes + l) * taps + t) * cpg + 2 * k;
          out[static_cast<size_t>(((b * taps + t) * (cpg / 2) + k) * kLanes + l)] =
              static_cast<uint32_t>(at[0].bits) | static_cast<uint32_t>(at[1].bits) << 16;
        }
  return out;
}

// The four accumulators of one block of output pixels, kept in registers (an array indexed in a
// loop went to the stack: a load and a store around every multiply-add).
struct Acc {
  __m512 a0, a1, a2, a3;
};

// Sums of one output row's pixels [ow0, ow0 + count) (count <= 4) for channel block b, two input
// channels a step: the pair (2k, 2k + 1) of each lane's group spread over the group's lanes, and
// one bf16 dot product (vdpbf16ps: exact products, each added with round-to-nearest-even,
// denormals flushed) with that lane's weights for the pair.
template <int CPG>
__attribute__((always_inline)) inline Acc accumulate_pairs(const GroupedConv& g, const bf16* x, const uint32_t* wp,
                                                           const __m512i* spread, int64_t n, int64_t oh,
                                                           int64_t ow0, int count, int64_t b) {
  constexpr int kPairs = CPG / 2;
  const int64_t taps = g.kh * g.kw;
  // Every tap of all four pixels inside the row (most of a map): no bounds to check per load.
  const bool inside = count == kPixels && ow0 * g.sw - g.pw >= 0 && (ow0 + kPixels - 1) * g.sw - g.pw + g.kw <= g.w;
  Acc s{_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  for (int64_t ki = 0; ki < g.kh; ++ki) {
    const int64_t ih = oh * g.sh - g.ph + ki;
    if (ih < 0 || ih >= g.h) continue;  // padding rows add nothing
    const bf16* row = x + (n * g.h + ih) * g.w * g.c + b * kLanes;
    for (int64_t kj = 0; kj < g.kw; ++kj) {
      auto pixel = [&](int p) {
        const int64_t iw = (ow0 + p) * g.sw - g.pw + kj;
        if (inside) return load_pairs(row + iw * g.c);
        return p < count && iw >= 0 && iw < g.w ? load_pairs(row + iw * g.c) : _mm512_setzero_si512();
      };
      const __m512i i0 = pixel(0), i1 = pixel(1), i2 = pixel(2), i3 = pixel(3);
      const uint32_t* wt = wp + ((b * taps + ki * g.kw + kj) * kPairs) * kLanes;
#pragma GCC unroll 4
      for (int k = 0; k < kPairs; ++k) {
        const __m512bh wv = reinterpret_cast<__m512bh>(_mm512_loadu_si512(wt + k * kLanes));
        const __m512i sp = spread[k];
        s.a0 = _mm512_dpbf16_ps(s.a0, reinterpret_cast<__m512bh>(_mm512_permutexvar_epi32(sp, i0)), wv);
        s.a1 = _mm512_dpbf16_ps(s.a1, reinterpret_cast<__m512bh>(_mm512_permutexvar_epi32(sp, i1)), wv);
        s.a2 = _mm512_dpbf16_ps(s.a2, reinterpret_cast<__m512bh>(_mm512_permutexvar_epi32(sp, i2)), wv);
        s.a3 = _mm512_dpbf16_ps(s.a3, reinterpret_cast<__m512bh>(_mm512_permutexvar_epi32(sp, i3)), wv);
      }
    }
  }
  return s;
}

// Runs the convolution, handing each finished vector (16 channels of one pixel, at element
// offset `at` of the output) to `emit`.
template <int CPG, class Emit>
void run(const GroupedConv& g, const bf16* x, const bf16* w, const Emit& emit) {
  constexpr int kSteps = CPG / 2;
  const std::vector<uint32_t> wp = pack_weight_pairs(g, CPG, w);
  // Lane l takes pair `step` of its group, whose first pair is l / CPG * CPG / 2.
  __m512i spread[kSteps];
  for (int j = 0; j < kSteps; ++j) {
    alignas(64) int idx[kLanes];
    for (int l = 0; l < kLanes; ++l) idx[l] = l / CPG * kSteps + j;
    spread[j] = _mm512_load_si512(idx);
  }
  const int64_t blocks = g.c / kLanes, rows = g.n * g.ho;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = r / g.ho, oh = r % g.ho;
    for (int64_t ow0 = 0; ow0 < g.wo; ow0 += kPixels) {
      const int count = static_cast<int>(std::min<int64_t>(kPixels, g.wo - ow0));
      for (int64_t b = 0; b < blocks; ++b) {
        const Acc s = accumulate_pairs<CPG>(g, x, wp.data(), spread, n, oh, ow0, count, b);
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
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + at), round_bf16(v));
  });
}

// The weight gradient, for one group width. A task is (a split of the output rows, a block b of 16
// output channels): for each tap it runs over the split's output pixels two at a time, the pair's
// dz values of the block interleaved (dz[p][l], dz[p + 1][l]) and, for each input channel j of a
// group, the pair's input values that lane l's group sees, interleaved the same way; one bf16 dot
// product adds dz[p][l] x[p][j] + dz[p + 1][l] x[p + 1][j] into lane l's sum for (tap, j).
template <int CPG>
void run_weights(const GroupedConv& g, const bf16* x, const bf16* dz, float* dw) {
  const int64_t taps = g.kh * g.kw, blocks = g.c / kLanes, rows = g.n * g.ho;
  // A split count of its own (not the team's size): the sums' order must not depend on threads.
  const int64_t splits = std::min<int64_t>(rows, 32), per = (rows + splits - 1) / splits;
  const int64_t slot = taps * CPG * kLanes;  // one task's sums: (tap, j, lane)
  // (splits, blocks, slot) sums, every one written by its task: kept between calls (a fresh
  // vector cost a clear and page faults on every call), per calling thread.
  thread_local std::vector<float> keep;
  if (keep.size() < static_cast<size_t>(splits * blocks * slot)) keep.resize(static_cast<size_t>(splits * blocks * slot));
  float* const part = keep.data();  // (the team's threads must not name `keep`: each has its own)
  alignas(64) int16_t pair_idx[32], spread_idx[CPG][32];
  for (int l = 0; l < kLanes; ++l) {
    pair_idx[2 * l] = static_cast<int16_t>(l);
    pair_idx[2 * l + 1] = static_cast<int16_t>(kLanes + l);
    for (int j = 0; j < CPG; ++j) {
      spread_idx[j][2 * l] = static_cast<int16_t>(l / CPG * CPG + j);
      spread_idx[j][2 * l + 1] = static_cast<int16_t>(kLanes + l / CPG * CPG + j);
    }
  }
  const __m512i pairs = _mm512_load_si512(pair_idx);
  __m512i spread[CPG];
  for (int j = 0; j < CPG; ++j) spread[j] = _mm512_load_si512(spread_idx[j]);
  const __m256i zero = _mm256_setzero_si256();
  const int64_t wpairs = (g.wo + 1) / 2;
#pragma omp parallel
  {
    // The split's dz pairs of one block, interleaved once for all taps: (rows, Wo / 2) vectors.
    std::vector<int32_t> dzp(static_cast<size_t>(per * wpairs * kLanes));
#pragma omp for schedule(dynamic)
  for (int64_t task = 0; task < splits * blocks; ++task) {
    const int64_t split = task / blocks, b = task % blocks;
    const int64_t r0 = split * per, r1 = std::min(rows, r0 + per);
    float* out = part + task * slot;
    for (int64_t r = r0; r < r1; ++r) {
      const bf16* dzr = dz + r * g.wo * g.c + b * kLanes;
      for (int64_t q = 0; q < wpairs; ++q) {
        const int64_t ow = 2 * q;
        const __m256i second = ow + 1 < g.wo ? load16(dzr + (ow + 1) * g.c) : zero;
        _mm512_storeu_si512(dzp.data() + ((r - r0) * wpairs + q) * kLanes,
                            _mm512_permutexvar_epi16(pairs, join(load16(dzr + ow * g.c), second)));
      }
    }
    for (int64_t t = 0; t < taps; ++t) {
      const int64_t ki = t / g.kw, kj = t % g.kw;
      __m512 acc[CPG];
      for (int j = 0; j < CPG; ++j) acc[j] = _mm512_setzero_ps();
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / g.ho, oh = r % g.ho, ih = oh * g.sh - g.ph + ki;
        if (ih < 0 || ih >= g.h) continue;  // padding rows add nothing
        const int32_t* dr = dzp.data() + (r - r0) * wpairs * kLanes;
        const bf16* xr = x + (n * g.h + ih) * g.w * g.c + b * kLanes;
        for (int64_t ow = 0; ow < g.wo; ow += 2) {
          const bool second = ow + 1 < g.wo;
          const __m512i d = _mm512_loadu_si512(dr + ow / 2 * kLanes);
          const int64_t iw0 = ow * g.sw - g.pw + kj, iw1 = iw0 + g.sw;
          const __m256i x0 = iw0 >= 0 && iw0 < g.w ? load16(xr + iw0 * g.c) : zero;
          const __m256i x1 = second && iw1 >= 0 && iw1 < g.w ? load16(xr + iw1 * g.c) : zero;
          const __m512i xv = join(x0, x1);
#pragma GCC unroll 8
          for (int j = 0; j < CPG; ++j)
            acc[j] = _mm512_dpbf16_ps(acc[j], reinterpret_cast<__m512bh>(d),
                                      reinterpret_cast<__m512bh>(_mm512_permutexvar_epi16(spread[j], xv)));
        }
      }
      for (int j = 0; j < CPG; ++j) _mm512_storeu_ps(out + (t * CPG + j) * kLanes, acc[j]);
    }
  }
  }
  // dw[b * 16 + l][t][j] = the splits' sums added in split order, each block's in contiguous runs.
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    float* total = part + b * slot;  // split 0's sums of block b, summed into in place
    for (int64_t split = 1; split < splits; ++split) {
      const float* more = part + (split * blocks + b) * slot;
#pragma omp simd
      for (int64_t i = 0; i < slot; ++i) total[i] += more[i];
    }
    for (int64_t t = 0; t < taps; ++t)
      for (int j = 0; j < CPG; ++j)
        for (int l = 0; l < kLanes; ++l) dw[((b * kLanes + l) * taps + t) * CPG + j] = total[(t * CPG + j) * kLanes + l];
  }
}

void grouped_conv_backward_weights(const GroupedConv& g, const bf16* x, const bf16* dz, float* dw) {
  switch (g.c / g.groups) {
    case 2: return run_weights<2>(g, x, dz, dw);
    case 4: return run_weights<4>(g, x, dz, dw);
    default: return run_weights<8>(g, x, dz, dw);
  }
}

void grouped_conv_backward_data(const GroupedConv& g, const bf16* dz, const bf16* w, bf16* dx) {
  // The transposed problem: dz is its input, dx its output, the padding what the forward's leaves.
  GroupedConv t = g;
  t.h = g.ho, t.w = g.wo, t.ho = g.h, t.wo = g.w, t.ph = g.kh - 1 - g.ph, t.pw = g.kw - 1 - g.pw;
  // wt[grp * cpg + i][a][b][o] = w[grp * cpg + o][kh - 1 - a][kw - 1 - b][i], (C, kH, kW, cpg).
  const int64_t cpg = g.c / g.groups;
  std::vector<bf16> wt(static_cast<size_t>(g.c * g.kh * g.kw * cpg));
  for (int64_t grp = 0; grp < g.groups; ++grp)
    for (int64_t i = 0; i < cpg; ++i)
      for (int64_t a = 0; a < g.kh; ++a)
        for (int64_t b = 0; b < g.kw; ++b)
          for (int64_t o = 0; o < cpg; ++o)
            wt[static_cast<size_t>((((grp * cpg + i) * g.kh + a) * g.kw + b) * cpg + o)] =
                w[(((grp * cpg + o) * g.kh + (g.kh - 1 - a)) * g.kw + (g.kw - 1 - b)) * cpg + i];
  dispatch(t, dz, wt.data(), [dx](int64_t at, int64_t, __m512 v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dx + at), round_bf16(v));
  });
}

}  // namespace senet::cpu

#pragma GCC pop_options
#pragma GCC diagnostic pop

#else  // no kernel: grouped_conv_fits() is false, so these are never called

namespace senet::cpu {
void grouped_conv_forward(const GroupedConv&, const bf16*, const bf16*, float*) {}
void grouped_conv_forward(const GroupedConv&, const bf16*, const bf16*, const float*, const float*, bool, bf16*) {}
void grouped_conv_backward_data(const GroupedConv&, const bf16*, const bf16*, bf16*) {}
void grouped_conv_backward_weights(const GroupedConv&, const bf16*, const bf16*, float*) {}
}  // namespace senet::cpu

#endif
