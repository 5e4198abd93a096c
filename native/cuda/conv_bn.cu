// Convolution + batch norm + ReLU on the GPU. The convolution (grouped, NHWC) is cuDNN's, its
// algorithms measured once per shape (cuda/conv_plan.h); batch norm and the ReLU are our
// kernels, because cuDNN's fused batch-norm forms are for half precision and its float32
// SPATIAL_PERSISTENT mode loses accuracy (PyTorch reports it on ResNeXt). Statistics are summed in
// double so that a large batch keeps float32 accuracy; the running statistics follow PyTorch
// (ops/maths.h, shared with the CPU).
//
// Activations are T = float, or bf16 in mixed precision: x, w (the bf16 weight copy), z, y, dy,
// dz and dx are then bf16, cuDNN runs its bf16 configuration (float32 accumulation, tensor cores),
// batch-norm statistics and parameters stay float32. cuDNN's legacy API writes a bf16 output for
// bf16 inputs, so, as in PyTorch's autocast on a GPU and unlike senet's CPU backend (which keeps
// the convolution's float32 output for the statistics and folds inference's batch norm into it),
// the statistics come from the rounded z, inference rounds z and then y, and the weight gradient
// cuDNN writes in bf16 is widened into the float32 dw. test/cuda/bf16.test.ts allows for the one
// extra rounding.
#include <algorithm>
#include <string>

#include "cuda/blas.h"
#include "cuda/context.h"
#include "cuda/conv_plan.h"
#include "cuda/kernels.cuh"
#include "cuda/launch.h"
#include "ops/conv_bn.h"
#include "ops/dispatch.h"
#include "ops/maths.h"

namespace senet::cuda {

namespace {

// ---------------------------------------------------------------------------------------------
// Kernels. z, y, dy are (M, C) with M = N·Ho·Wo rows of C contiguous channels.

// Adds the two sums of the 8 threads of a (32, 8) block that share a channel and writes them as
// part blockIdx.y of that channel's partial sums.
__device__ void write_block_sums(double a, double b, int64_t ch, int64_t c, double* pa, double* pb) {
  __shared__ double s1[8][32], s2[8][32];
  s1[threadIdx.y][threadIdx.x] = a;
  s2[threadIdx.y][threadIdx.x] = b;
  __syncthreads();
  if (threadIdx.y == 0 && ch < c) {
    for (int k = 1; k < 8; ++k) {
      a += s1[k][threadIdx.x];
      b += s2[k][threadIdx.x];
    }
    pa[blockIdx.y * c + ch] = a;
    pb[blockIdx.y * c + ch] = b;
  }
}

// Partial per-channel sums of z and z² over `rows` rows: block (32, 8), grid (ceil(C/32), parts).
template <class T>
__global__ void stats_partial_kernel(const T* z, int64_t m, int64_t c, int64_t rows, double* psum, double* psq) {
  const int64_t ch = blockIdx.x * int64_t{32} + threadIdx.x;
  const int64_t row0 = blockIdx.y * rows;
  double a = 0, b = 0;
  if (ch < c) {
    for (int64_t r = row0 + threadIdx.y; r < m && r < row0 + rows; r += 8) {
      const double v = load(z, r * c + ch);
      a += v;
      b += v * v;
    }
  }
  write_block_sums(a, b, ch, c, psum, psq);
}

// The same sums a 16-byte pack of W channels a thread (the loads above are 2 bytes a thread in
// bf16): block and grid from pack_grid(packs, parts); the TY threads of a pack add their sums in a
// fixed tree (sum_over_rows), and row 0 writes them as part blockIdx.y.
template <int W>
__device__ void write_pack_sums(double (&a)[W], double (&b)[W], int64_t pk, int64_t packs, double* pa, double* pb) {
  sum_over_rows(a);
  sum_over_rows(b);
  if (threadIdx.y == 0 && pk < packs) {
    const int64_t c = packs * W;
#pragma unroll
    for (int e = 0; e < W; ++e) {
      pa[blockIdx.y * c + pk * W + e] = a[e];
      pb[blockIdx.y * c + pk * W + e] = b[e];
    }
  }
}

template <class T>
__global__ void stats_partial_pack_kernel(const Pack<T>* z, int64_t m, int64_t packs, int64_t rows, double* psum,
                                          double* psq) {
  constexpr int W = Pack<T>::kWidth;
  const int64_t pk = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  const int64_t row0 = blockIdx.y * rows;
  double a[W], b[W];
#pragma unroll
  for (int e = 0; e < W; ++e) a[e] = b[e] = 0;
  if (pk < packs) {
    for (int64_t r = row0 + threadIdx.y; r < m && r < row0 + rows; r += blockDim.y) {
      const Pack<T> v = z[r * packs + pk];
#pragma unroll
      for (int e = 0; e < W; ++e) {
        const double x = load(v.v, e);
        a[e] += x;
        b[e] += x * x;
      }
    }
  }
  write_pack_sums<W>(a, b, pk, packs, psum, psq);
}

// The finalize kernels reduce a channel's `parts` partial sums with the 32 threads of a warp (a
// warp per channel, in parallel over parts, then a fixed shuffle tree: deterministic).
__device__ double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

constexpr int kWarpsPerBlock = kThreads / 32;

unsigned finalize_blocks(int64_t c) { return static_cast<unsigned>((c + kWarpsPerBlock - 1) / kWarpsPerBlock); }

// The channel of this thread's warp, or -1 past the last; *a and *b get the totals of its
// `parts` partial sums (valid in lane 0).
__device__ int64_t channel_totals(const double* pa, const double* pb, int parts, int64_t c, double* a, double* b) {
  const int64_t ch = blockIdx.x * int64_t{kWarpsPerBlock} + threadIdx.x / 32;
  if (ch >= c) return -1;
  double sa = 0, sb = 0;
  for (int p = threadIdx.x % 32; p < parts; p += 32) {
    sa += pa[p * c + ch];
    sb += pb[p * c + ch];
  }
  *a = warp_sum(sa);
  *b = warp_sum(sb);
  return ch;
}

// Per channel: batch mean and (biased) variance, the running statistics' update, and the affine
// form y = z · scale + shift of the normalisation. One warp per channel.
__global__ void stats_finalize_kernel(const double* psum, const double* psq, int parts, int64_t m, int64_t c,
                                      const float* gamma, const float* beta, float eps, BnRunning running,
                                      float* save_mean, float* save_var, float* running_mean, float* running_var,
                                      float* scale, float* shift) {
  double a, b;
  const int64_t ch = channel_totals(psum, psq, parts, c, &a, &b);
  if (ch < 0 || threadIdx.x % 32 != 0) return;
  const double mean = a / static_cast<double>(m);
  const double d = b / static_cast<double>(m) - mean * mean;
  const double var = d < 0.0 ? 0.0 : d;  // clamps rounding below 0, lets a NaN through
  save_mean[ch] = static_cast<float>(mean);
  save_var[ch] = static_cast<float>(var);
  running.update(running_mean[ch], running_var[ch], static_cast<float>(mean), static_cast<float>(var));
  const double s = gamma[ch] / sqrt(var + eps);
  scale[ch] = static_cast<float>(s);
  shift[ch] = static_cast<float>(beta[ch] - mean * s);
}

// Inference: the affine form from the running statistics.
__global__ void running_affine_kernel(int64_t c, const float* gamma, const float* beta, const float* running_mean,
                                      const float* running_var, float eps, float* scale, float* shift) {
  for (int64_t ch = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; ch < c; ch += int64_t{gridDim.x} * blockDim.x) {
    const float s = gamma[ch] * rsqrtf(running_var[ch] + eps);
    scale[ch] = s;
    shift[ch] = beta[ch] - running_mean[ch] * s;
  }
}

__device__ __forceinline__ float bn_relu(float z, float scale, float shift, bool relu) {
  const float v = z * scale + shift;
  return relu && v < 0.f ? 0.f : v;  // NaN passes, as in PyTorch
}

// y = act(z · scale[c] + shift[c]), one element a thread.
template <class Z, class Y>
__global__ void affine_kernel(const Z* z, Y* y, int64_t total, int64_t c, const float* scale, const float* shift,
                              bool relu) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ch = i % c;
    store(y, i, bn_relu(load(z, i), scale[ch], shift[ch], relu));
  }
}

// The same, one 16-byte pack a thread (4 floats or 8 bf16 values).
template <class T>
__global__ void affine_pack_kernel(const Pack<T>* z, Pack<T>* y, int64_t packs, int64_t c, const float* scale,
                                   const float* shift, bool relu) {
  constexpr int W = Pack<T>::kWidth;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < packs; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ch = (i * W) % c;
    const Pack<T> in = z[i];
    Pack<T> out;
#pragma unroll
    for (int k = 0; k < W; ++k) store(out.v, k, bn_relu(load(in.v, k), scale[ch + k], shift[ch + k], relu));
    y[i] = out;
  }
}

// Backward partial sums per channel of g and g · (z − mean), g = dy through the ReLU's mask.
template <class T>
__global__ void grad_partial_kernel(const T* dy, const T* y, const T* z, const float* mean, int64_t m, int64_t c,
                                    int64_t rows, bool relu, double* pg, double* pgz) {
  const int64_t ch = blockIdx.x * int64_t{32} + threadIdx.x;
  const int64_t row0 = blockIdx.y * rows;
  double a = 0, b = 0;
  if (ch < c) {
    const float mu = mean[ch];
    for (int64_t r = row0 + threadIdx.y; r < m && r < row0 + rows; r += 8) {
      const int64_t i = r * c + ch;
      const float g = relu && !(load(y, i) > 0.f) ? 0.f : load(dy, i);
      a += g;
      b += static_cast<double>(g) * (load(z, i) - mu);
    }
  }
  write_block_sums(a, b, ch, c, pg, pgz);
}

template <class T>
__global__ void grad_partial_pack_kernel(const Pack<T>* dy, const Pack<T>* y, const Pack<T>* z, const float* mean,
                                         int64_t m, int64_t packs, int64_t rows, bool relu, double* pg, double* pgz) {
  constexpr int W = Pack<T>::kWidth;
  const int64_t pk = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  const int64_t row0 = blockIdx.y * rows;
  double a[W], b[W];
#pragma unroll
  for (int e = 0; e < W; ++e) a[e] = b[e] = 0;
  if (pk < packs) {
    float mu[W];
#pragma unroll
    for (int e = 0; e < W; ++e) mu[e] = mean[pk * W + e];
    for (int64_t r = row0 + threadIdx.y; r < m && r < row0 + rows; r += blockDim.y) {
      const int64_t i = r * packs + pk;
      const Pack<T> d = dy[i], v = z[i];
      const Pack<T> o = relu ? y[i] : d;  // y only for the ReLU's mask (without one it may be a reused buffer)
#pragma unroll
      for (int e = 0; e < W; ++e) {
        const float g = relu && !(load(o.v, e) > 0.f) ? 0.f : load(d.v, e);
        a[e] += g;
        b[e] += static_cast<double>(g) * (load(v.v, e) - mu[e]);
      }
    }
  }
  write_pack_sums<W>(a, b, pk, packs, pg, pgz);
}

// dgamma, dbeta, and dz = k · g − k2 · z + off, the training-mode batch-norm gradient:
// dz = γ·invstd·(g − mean(g) − x̂·mean(g·x̂)) with x̂ = (z − μ)·invstd. One warp per channel.
__global__ void grad_finalize_kernel(const double* pg, const double* pgz, int parts, int64_t m, int64_t c,
                                     const float* gamma, const float* mean, const float* var, float eps,
                                     float* dgamma, float* dbeta, float* k, float* k2, float* off) {
  double sg, sgz;
  const int64_t ch = channel_totals(pg, pgz, parts, c, &sg, &sgz);
  if (ch < 0 || threadIdx.x % 32 != 0) return;
  const double invstd = 1.0 / sqrt(static_cast<double>(var[ch]) + eps);
  const double dg = sgz * invstd;  // Σ g·x̂
  dgamma[ch] = static_cast<float>(dg);
  dbeta[ch] = static_cast<float>(sg);
  const double kk = gamma[ch] * invstd;
  const double kk2 = kk * invstd * dg / static_cast<double>(m);
  k[ch] = static_cast<float>(kk);
  k2[ch] = static_cast<float>(kk2);
  off[ch] = static_cast<float>(-kk * sg / static_cast<double>(m) + kk2 * mean[ch]);
}

__device__ __forceinline__ float bn_grad(float dy, float y, float z, float k, float k2, float off, bool relu) {
  const float g = relu && !(y > 0.f) ? 0.f : dy;
  return k * g - k2 * z + off;
}

template <class T>
__global__ void grad_apply_kernel(const T* dy, const T* y, const T* z, T* dz, int64_t total, int64_t c, bool relu,
                                  const float* k, const float* k2, const float* off) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ch = i % c;
    store(dz, i, bn_grad(load(dy, i), relu ? load(y, i) : 0.f, load(z, i), k[ch], k2[ch], off[ch], relu));
  }
}

template <class T>
__global__ void grad_apply_pack_kernel(const Pack<T>* dy, const Pack<T>* y, const Pack<T>* z, Pack<T>* dz, int64_t packs,
                                       int64_t c, bool relu, const float* k, const float* k2, const float* off) {
  constexpr int W = Pack<T>::kWidth;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < packs; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ch = (i * W) % c;
    const Pack<T> a = dy[i], d = z[i];
    const Pack<T> b = relu ? y[i] : a;  // y only for the ReLU's mask
    Pack<T> out;
#pragma unroll
    for (int e = 0; e < W; ++e)
      store(out.v, e, bn_grad(load(a.v, e), load(b.v, e), load(d.v, e), k[ch + e], k2[ch + e], off[ch + e], relu));
    dz[i] = out;
  }
}

// ---------------------------------------------------------------------------------------------
// Scratch: one allocation of the context's, carved into aligned pieces. carve() runs the same
// list of pieces twice, once to size the allocation and once to hand out pointers, so the size
// cannot drift from what is taken.

class Carver {
 public:
  explicit Carver(uintptr_t base) : base_(base) {}
  template <class T>
  T* take(size_t count) {
    T* p = reinterpret_cast<T*>(base_ + used_);
    used_ += (count * sizeof(T) + 255) / 256 * 256;
    return p;
  }
  size_t used() const { return used_; }

 private:
  uintptr_t base_;
  size_t used_ = 0;
};

template <class Pieces>
auto carve(Pieces&& pieces) {
  Carver measure(0);
  pieces(measure);
  Carver real(reinterpret_cast<uintptr_t>(Context::get().scratch(std::max<size_t>(measure.used(), 1))));
  return pieces(real);
}

// How the M rows are split for the statistics: at most 4096 parts (a grid's y dimension stays
// small), at least 256 rows a part, a multiple of 8 rows.
struct RowSplit {
  int parts;
  int64_t rows;
};

RowSplit row_split(int64_t m) {
  const int64_t parts = std::min<int64_t>((m + 255) / 256, 4096);
  const int64_t rows = ((m + parts - 1) / parts + 7) / 8 * 8;
  return {static_cast<int>((m + rows - 1) / rows), rows};
}

dim3 partial_grid(int64_t c, int parts) { return dim3(static_cast<unsigned>((c + 31) / 32), static_cast<unsigned>(parts)); }

// A 1x1, stride 1, unpadded, ungrouped convolution in float32 is, over NHWC rows, one product each
// way: z (M, Cout) = x (M, Cin) · w (Cout, Cin)^T and dx (M, Cin) = dz (M, Cout) · w. On an H200
// (cuDNN 9.19) the only FMA-math backward-data algorithm the legacy API offered for such shapes at
// 56x56 was ALGO_0, at 108-215 ms a call, and the forward's IMPLICIT_GEMM took 5-11 ms; cuBLAS's
// SGEMM (default math: no TF32) does each sum in a few ms by its FLOP count.
bool pointwise_f32(const ConvBnParams& p, DType data, const Tensor& w) {
  return data == DType::F32 && !p.tf32 && p.groups == 1 && w.dim(1) == 1 && w.dim(2) == 1 && p.stride_h == 1 &&
         p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0;
}

template <class T>
void forward_as(const ConvBnForward& a) {
  const ConvBnParams& p = a.p;
  const Tensor &x = a.x, &w = a.w, &gamma = a.gamma, &beta = a.beta, &y = a.y;
  const Tensor &running_mean = a.running_mean, &running_var = a.running_var;
  const Tensor *z = opt(a.z), *save_mean = opt(a.save_mean), *save_var = opt(a.save_var);
  const int64_t n = x.dim(0), c = w.dim(0), ho = y.dim(1), wo = y.dim(2), m = n * ho * wo, total = m * c;
  Context& ctx = Context::get();
  cudaStream_t s = ctx.stream();
  ConvPlan& plan = conv_plan_for(p, x, w, ho, wo);
  const bool gemm = pointwise_f32(p, x.dtype, w);
  if (!gemm) plan.choose_forward(x.raw(), w.raw(), y.raw());  // y has z's shape and type: measuring may write it
  const RowSplit split = row_split(m);
  const size_t ws = gemm ? 0 : plan.fwd.workspace;
  struct Pieces {
    void* workspace;
    T* z;  // (M, C) conv output when the caller keeps none
    float *scale, *shift;
    double *psum, *psq;  // (parts, C)
  };
  const Pieces sc = carve([&](Carver& k) {
    return Pieces{k.take<char>(ws), z ? nullptr : k.take<T>(static_cast<size_t>(total)), k.take<float>(c), k.take<float>(c),
                  p.training ? k.take<double>(static_cast<size_t>(split.parts) * c) : nullptr,
                  p.training ? k.take<double>(static_cast<size_t>(split.parts) * c) : nullptr};
  });
  T* zp = z ? z->data<T>() : sc.z;
  const float one = 1.f, zero = 0.f;
  ++plan.fwd_calls;
  if (gemm) {
    plan.fwd_by_gemm = true;
    if constexpr (std::is_same_v<T, float>) gemm_forward(m, x.dim(3), c, x.data<float>(), w.data<float>(), zp);  // (M, Cout)
  } else {
    plan.use(plan.fwd);
    SENET_CUDNN_CHECK(require_cudnn().cudnnConvolutionForward(
        ctx.cudnn(), &one, plan.x.get(), x.raw(), plan.w.get(), w.raw(), plan.conv.get(),
        static_cast<dyn::cudnnConvolutionFwdAlgo_t>(plan.fwd.algo), sc.workspace, ws, &zero, plan.y.get(), zp));
  }
  if (p.training) {
    if (packs_fit<T>(c, {zp})) {
      const int64_t packs = c / Pack<T>::kWidth;
      const PackGrid g = pack_grid(packs, static_cast<unsigned>(split.parts));
      stats_partial_pack_kernel<T><<<g.grid, g.block, 0, s>>>(reinterpret_cast<const Pack<T>*>(zp), m, packs,
                                                              split.rows, sc.psum, sc.psq);
    } else {
      stats_partial_kernel<T><<<partial_grid(c, split.parts), dim3(32, 8), 0, s>>>(zp, m, c, split.rows, sc.psum, sc.psq);
    }
    SENET_CUDA_LAUNCHED();
    stats_finalize_kernel<<<finalize_blocks(c), kThreads, 0, s>>>(
        sc.psum, sc.psq, split.parts, m, c, gamma.data<float>(), beta.data<float>(), p.eps,
        BnRunning::of(p.momentum, static_cast<double>(m)), save_mean->data<float>(), save_var->data<float>(),
        running_mean.data<float>(), running_var.data<float>(), sc.scale, sc.shift);
  } else {
    running_affine_kernel<<<blocks_for(c), kThreads, 0, s>>>(c, gamma.data<float>(), beta.data<float>(),
                                                             running_mean.data<float>(), running_var.data<float>(), p.eps,
                                                             sc.scale, sc.shift);
  }
  SENET_CUDA_LAUNCHED();
  T* yp = y.data<T>();
  if (packs_fit<T>(c, {zp, yp})) {
    const int64_t packs = total / Pack<T>::kWidth;
    affine_pack_kernel<T><<<blocks_for(packs), kThreads, 0, s>>>(reinterpret_cast<const Pack<T>*>(zp),
                                                                 reinterpret_cast<Pack<T>*>(yp), packs, c, sc.scale,
                                                                 sc.shift, p.relu);
  } else {
    affine_kernel<T, T><<<blocks_for(total), kThreads, 0, s>>>(zp, yp, total, c, sc.scale, sc.shift, p.relu);
  }
  SENET_CUDA_LAUNCHED();
}

template <class T>
void backward_as(const ConvBnBackward& a) {
  const ConvBnParams& p = a.p;
  const Tensor &dy = a.dy, &x = a.x, &w = a.w, &gamma = a.gamma, &z = a.z, &y = a.y;
  const Tensor &save_mean = a.save_mean, &save_var = a.save_var, &dw = a.dw, &dgamma = a.dgamma, &dbeta = a.dbeta;
  const Tensor* dx = opt(a.dx);
  const int64_t n = x.dim(0), c = w.dim(0), ho = y.dim(1), wo = y.dim(2), m = n * ho * wo, total = m * c;
  constexpr bool kNarrow = !std::is_same_v<T, float>;  // cuDNN writes dw in T: widen it after
  Context& ctx = Context::get();
  cudaStream_t s = ctx.stream();
  ConvPlan& plan = conv_plan_for(p, x, w, ho, wo);
  const bool gemm_dx = dx && pointwise_f32(p, x.dtype, w);
  // Measuring reads dy in place of dz (same shape and type) and writes dx and dw, which the op
  // overwrites afterwards (a bf16 dw fits in the float32 one).
  if (dx && !gemm_dx) plan.choose_backward_data(w.raw(), dy.raw(), dx->raw());
  plan.choose_backward_filter(x.raw(), dy.raw(), dw.raw());
  const RowSplit split = row_split(m);
  const size_t ws = std::max(dx && !gemm_dx ? plan.bwd_data.workspace : 0, plan.bwd_filter.workspace);
  struct Pieces {
    void* workspace;
    T* dz;           // (M, C) gradient at the conv's output
    T* dw_narrow;    // w's shape, when T is bf16
    double *pg, *pgz;  // (parts, C)
    float *k, *k2, *off;
  };
  const Pieces sc = carve([&](Carver& q) {
    return Pieces{q.take<char>(ws),
                  q.take<T>(static_cast<size_t>(total)),
                  kNarrow ? q.take<T>(static_cast<size_t>(w.numel())) : nullptr,
                  q.take<double>(static_cast<size_t>(split.parts) * c),
                  q.take<double>(static_cast<size_t>(split.parts) * c),
                  q.take<float>(c),
                  q.take<float>(c),
                  q.take<float>(c)};
  });
  if (packs_fit<T>(c, {dy.raw(), y.raw(), z.raw()})) {
    const int64_t packs = c / Pack<T>::kWidth;
    const PackGrid g = pack_grid(packs, static_cast<unsigned>(split.parts));
    grad_partial_pack_kernel<T><<<g.grid, g.block, 0, s>>>(
        reinterpret_cast<const Pack<T>*>(dy.raw()), reinterpret_cast<const Pack<T>*>(y.raw()),
        reinterpret_cast<const Pack<T>*>(z.raw()), save_mean.data<float>(), m, packs, split.rows, p.relu, sc.pg, sc.pgz);
  } else {
    grad_partial_kernel<T><<<partial_grid(c, split.parts), dim3(32, 8), 0, s>>>(
        dy.data<T>(), y.data<T>(), z.data<T>(), save_mean.data<float>(), m, c, split.rows, p.relu, sc.pg, sc.pgz);
  }
  SENET_CUDA_LAUNCHED();
  grad_finalize_kernel<<<finalize_blocks(c), kThreads, 0, s>>>(sc.pg, sc.pgz, split.parts, m, c, gamma.data<float>(),
                                                               save_mean.data<float>(), save_var.data<float>(), p.eps,
                                                               dgamma.data<float>(), dbeta.data<float>(), sc.k, sc.k2,
                                                               sc.off);
  SENET_CUDA_LAUNCHED();
  if (packs_fit<T>(c, {dy.raw(), y.raw(), z.raw(), sc.dz})) {
    const int64_t packs = total / Pack<T>::kWidth;
    grad_apply_pack_kernel<T><<<blocks_for(packs), kThreads, 0, s>>>(
        reinterpret_cast<const Pack<T>*>(dy.raw()), reinterpret_cast<const Pack<T>*>(y.raw()),
        reinterpret_cast<const Pack<T>*>(z.raw()), reinterpret_cast<Pack<T>*>(sc.dz), packs, c, p.relu, sc.k, sc.k2,
        sc.off);
  } else {
    grad_apply_kernel<T><<<blocks_for(total), kThreads, 0, s>>>(dy.data<T>(), y.data<T>(), z.data<T>(), sc.dz, total, c,
                                                                p.relu, sc.k, sc.k2, sc.off);
  }
  SENET_CUDA_LAUNCHED();
  const CudnnApi& api = require_cudnn();
  const float one = 1.f, zero = 0.f;
  if (dx) ++plan.bwd_data_calls;
  ++plan.bwd_filter_calls;
  if (gemm_dx) {
    plan.bwd_data_by_gemm = true;
    if constexpr (std::is_same_v<T, float>)
      gemm_backward_data(m, x.dim(3), c, sc.dz, w.data<float>(), dx->data<float>());  // (M, Cin)
  } else if (dx) {
    plan.use(plan.bwd_data);
    SENET_CUDNN_CHECK(api.cudnnConvolutionBackwardData(
        ctx.cudnn(), &one, plan.w.get(), w.raw(), plan.y.get(), sc.dz, plan.conv.get(),
        static_cast<dyn::cudnnConvolutionBwdDataAlgo_t>(plan.bwd_data.algo), sc.workspace, ws, &zero, plan.x.get(),
        dx->raw()));
  }
  void* dw_out = kNarrow ? static_cast<void*>(sc.dw_narrow) : dw.raw();
  plan.use(plan.bwd_filter);
  SENET_CUDNN_CHECK(api.cudnnConvolutionBackwardFilter(
      ctx.cudnn(), &one, plan.x.get(), x.raw(), plan.y.get(), sc.dz, plan.conv.get(),
      static_cast<dyn::cudnnConvolutionBwdFilterAlgo_t>(plan.bwd_filter.algo), sc.workspace, ws, &zero, plan.w.get(),
      dw_out));
  if constexpr (kNarrow) launch_cast(sc.dw_narrow, dw.data<float>(), w.numel(), s);
}

}  // namespace

void conv_bn_forward(const ConvBnForward& a) {
  if (a.x.dtype == DType::BF16) forward_as<bf16>(a);
  else forward_as<float>(a);
}

void conv_bn_backward(const ConvBnBackward& a) {
  if (a.x.dtype == DType::BF16) backward_as<bf16>(a);
  else backward_as<float>(a);
}

}  // namespace senet::cuda
