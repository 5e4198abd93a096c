// Small kernels shared by several ops: per-channel means over H·W, column sums, bias (+ ReLU),
// dtype casts, and 16-byte packs of activations. Layouts are channels-last, so a warp reads 32
// consecutive channels of one row: coalesced.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <initializer_list>

#include "core/bf16.h"
#include "cuda/check.h"
#include "cuda/launch.h"

namespace senet::cuda {

/// 16 bytes of activations, loaded and stored as one vector access: 4 floats or 8 bf16 values.
/// A pointer to packs needs 16-byte alignment and a channel count that is a multiple of kWidth.
template <class T>
struct alignas(16) Pack {
  static constexpr int kWidth = 16 / sizeof(T);
  T v[kWidth];
};

inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

/// SENET_CUDA_PACKS=0 (read once) turns every pack kernel off, the one-element ones running
/// instead: to measure what the packs give, or to rule them out.
inline bool packs_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("SENET_CUDA_PACKS");
    return !(e && e[0] == '0');
  }();
  return on;
}

/// Whether (rows, c) activations at these addresses can be read and written as packs.
template <class T>
bool packs_fit(int64_t c, std::initializer_list<const void*> ptrs) {
  if (!packs_enabled() || c % Pack<T>::kWidth != 0) return false;
  for (const void* p : ptrs)
    if (p && !aligned16(p)) return false;
  return true;
}

/// Launch shape of kernels that give a thread one pack of a row of `packs` packs: a block of kThreads
/// threads as (TX, TY), TX a power of two of at most 32 packs side by side, TY rows at a time;
/// grid.x covers the row's packs, grid.y is `y` (images, or parts of the rows).
struct PackGrid {
  dim3 block, grid;
};
inline PackGrid pack_grid(int64_t packs, unsigned y) {
  int tx = 1;
  while (tx < 32 && tx * 2 <= packs) tx *= 2;
  return {dim3(static_cast<unsigned>(tx), static_cast<unsigned>(kThreads / tx)),
          dim3(static_cast<unsigned>((packs + tx - 1) / tx), y)};
}

/// Adds acc over the blockDim.y threads that share threadIdx.x, in a fixed tree (the same order
/// every run); the totals are in row 0's acc. Every thread of the block must call it; it may be
/// called again right after.
template <class A, int W>
__device__ void sum_over_rows(A (&acc)[W]) {
  __shared__ A sh[kThreads * W];  // (TY, TX, W)
  A* mine = sh + (threadIdx.y * blockDim.x + threadIdx.x) * W;
#pragma unroll
  for (int e = 0; e < W; ++e) mine[e] = acc[e];
  __syncthreads();
  for (unsigned half = blockDim.y / 2; half > 0; half /= 2) {
    if (threadIdx.y < half) {
      const A* other = sh + ((threadIdx.y + half) * blockDim.x + threadIdx.x) * W;
#pragma unroll
      for (int e = 0; e < W; ++e) mine[e] += other[e];
    }
    __syncthreads();
  }
#pragma unroll
  for (int e = 0; e < W; ++e) acc[e] = mine[e];
  __syncthreads();  // before a next call overwrites sh
}

// y[i] = x[i] converted (float32 <-> bfloat16, round to nearest even).
template <class From, class To>
__global__ void cast_kernel(const From* x, To* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    store(y, i, load(x, i));
}

template <class From, class To>
void launch_cast(const From* x, To* y, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  cast_kernel<From, To><<<blocks_for(n), kThreads, 0, s>>>(x, y, n);
  SENET_CUDA_LAUNCHED();
}

// mean over q of x[n, q, c] for every (n, c); block (32, 8), grid (N, ceil(C / 32)).
// With `scale` = 1 / HW it is the mean; each thread sums every 8th position, then 8 partial sums
// are added in shared memory.
// x: float32 or bf16 activations; y and the sums are float32. (A template kernel is defined here,
// in every file that launches it: nvcc's whole-program mode wants that.)
template <class T>
__global__ void channel_sum_kernel(const T* x, float* y, int64_t hw, int64_t c, float scale) {
  __shared__ float partial[8][32];
  const int64_t ch = blockIdx.y * int64_t{32} + threadIdx.x;
  const int64_t n = blockIdx.x;
  float acc = 0.f;
  if (ch < c) {
    const T* base = x + n * hw * c + ch;
    for (int64_t q = threadIdx.y; q < hw; q += 8) acc += load(base, q * c);
  }
  partial[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && ch < c) {
    float sum = 0.f;
    for (int r = 0; r < 8; ++r) sum += partial[r][threadIdx.x];
    y[n * c + ch] = sum * scale;
  }
}

// The same means a 16-byte pack of channels a thread (2-byte loads above in bf16): block and
// grid from pack_grid(C / W, N).
template <class T>
__global__ void channel_sum_pack_kernel(const Pack<T>* x, float* y, int64_t hw, int64_t packs, float scale) {
  constexpr int W = Pack<T>::kWidth;
  const int64_t pk = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  const int64_t n = blockIdx.y;
  float acc[W];
#pragma unroll
  for (int e = 0; e < W; ++e) acc[e] = 0.f;
  if (pk < packs) {
    const Pack<T>* base = x + n * hw * packs + pk;
    for (int64_t q = threadIdx.y; q < hw; q += blockDim.y) {
      const Pack<T> v = base[q * packs];
#pragma unroll
      for (int e = 0; e < W; ++e) acc[e] += load(v.v, e);
    }
  }
  sum_over_rows(acc);
  if (threadIdx.y == 0 && pk < packs)
#pragma unroll
    for (int e = 0; e < W; ++e) y[n * packs * W + pk * W + e] = acc[e] * scale;
}

// out[o] = sum over rows r of m[r, o]: one thread per column, rows in order (deterministic).
__global__ void column_sum_kernel(const float* m, float* out, int64_t rows, int64_t cols);

// y[r, o] = act(y[r, o] + b[o]) with act = ReLU (NaN passes) or identity.
__global__ void add_bias_kernel(float* y, const float* b, int64_t rows, int64_t cols, bool relu);

template <class T>
void launch_channel_mean(const T* x, float* y, int64_t n, int64_t hw, int64_t c, cudaStream_t s) {
  if (packs_fit<T>(c, {x})) {
    const int64_t packs = c / Pack<T>::kWidth;
    const PackGrid g = pack_grid(packs, static_cast<unsigned>(n));
    channel_sum_pack_kernel<T><<<g.grid, g.block, 0, s>>>(reinterpret_cast<const Pack<T>*>(x), y, hw, packs,
                                                          1.f / static_cast<float>(hw));
  } else {
    dim3 block(32, 8), grid(static_cast<unsigned>(n), static_cast<unsigned>((c + 31) / 32));
    channel_sum_kernel<T><<<grid, block, 0, s>>>(x, y, hw, c, 1.f / static_cast<float>(hw));
  }
  SENET_CUDA_LAUNCHED();
}

inline void launch_column_sum(const float* m, float* out, int64_t rows, int64_t cols, cudaStream_t s) {
  column_sum_kernel<<<blocks_for(cols), kThreads, 0, s>>>(m, out, rows, cols);
  SENET_CUDA_LAUNCHED();
}

inline void launch_add_bias(float* y, const float* b, int64_t rows, int64_t cols, bool relu, cudaStream_t s) {
  add_bias_kernel<<<blocks_for(rows * cols), kThreads, 0, s>>>(y, b, rows, cols, relu);
  SENET_CUDA_LAUNCHED();
}

}  // namespace senet::cuda
