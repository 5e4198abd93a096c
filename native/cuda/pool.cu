// Pooling on the GPU: max pooling through cuDNN (NHWC) in float32 and with our kernels in bf16
// (whether cuDNN's legacy pooling takes bf16 is not documented for every version; ours are
// deterministic and give the gradient to each window's first maximum, as cuDNN's deterministic
// mode and PyTorch do), global average pooling with our kernels (cuda/kernels.cu: a reduction
// over H, W that reads each row of C channels coalesced). The pooled features are float32.
#include <algorithm>
#include <cstdint>

#include "cuda/context.h"
#include "cuda/descriptors.h"
#include "cuda/kernels.cuh"
#include "cuda/launch.h"
#include "ops/pool.h"

namespace senet::cuda {

namespace {

struct MaxPoolPlan {
  TensorDescriptor x, y;
  PoolingDescriptor pool;
  MaxPoolPlan(const MaxPoolParams& p, const Shape& xs, const Shape& ys)
      : x(nhwc_tensor(DType::F32, xs[0], xs[3], xs[1], xs[2])),
        y(nhwc_tensor(DType::F32, ys[0], ys[3], ys[1], ys[2])),
        // Deterministic max: the gradient goes to one element per window, as on the CPU.
        pool(pooling(dyn::CUDNN_POOLING_MAX_DETERMINISTIC, p.kernel_h, p.kernel_w, p.pad_h, p.pad_w, p.stride_h,
                     p.stride_w)) {}
};

MaxPoolPlan& plan_for(const MaxPoolParams& p, const Tensor& x, const Tensor& y) {
  // Never destroyed: at exit cuDNN may be unloaded before our statics would be.
  static auto* cache = new DescriptorCache<MaxPoolPlan>();
  to_int(x.numel(), "max pool: input elements");  // cuDNN's 4-d descriptors index with int
  std::string key;
  for (int64_t v : {x.dim(0), x.dim(1), x.dim(2), x.dim(3), int64_t{p.kernel_h}, int64_t{p.kernel_w},
                    int64_t{p.stride_h}, int64_t{p.stride_w}, int64_t{p.pad_h}, int64_t{p.pad_w}})
    key += ":" + std::to_string(v);
  return cache->get(key, [&] { return std::make_unique<MaxPoolPlan>(p, x.shape, y.shape); });
}

// Our max pooling, for bf16: x (N, H, W, C), y and dy (N, Ho, Wo, C).
struct PoolGeometry {
  int64_t h, w, c, ho, wo;
  int kh, kw, sh, sw, ph, pw;
};

PoolGeometry geometry(const MaxPoolParams& p, const Tensor& x, const Tensor& y) {
  return {x.dim(1), x.dim(2), x.dim(3), y.dim(1), y.dim(2), p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w};
}

// The first position (row-major in the window) of the maximum of window (oh, ow) of channel ch
// of image n, as an index into x; a NaN is the maximum. *best gets its value.
template <class T>
__device__ int64_t window_argmax(const T* x, const PoolGeometry& g, int64_t n, int64_t oh, int64_t ow, int64_t ch,
                                 float* best) {
  float m = -INFINITY;
  int64_t at = -1;
  for (int i = 0; i < g.kh; ++i) {
    const int64_t ih = oh * g.sh - g.ph + i;
    if (ih < 0 || ih >= g.h) continue;
    for (int j = 0; j < g.kw; ++j) {
      const int64_t iw = ow * g.sw - g.pw + j;
      if (iw < 0 || iw >= g.w) continue;
      const int64_t idx = ((n * g.h + ih) * g.w + iw) * g.c + ch;
      const float v = load(x, idx);
      if (at < 0 || (!isnan(m) && (v > m || isnan(v)))) {
        m = v;
        at = idx;
      }
    }
  }
  *best = m;
  return at;
}

template <class T>
__global__ void max_pool_forward_kernel(const T* x, T* y, int64_t total, PoolGeometry g) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ch = i % g.c, ow = (i / g.c) % g.wo, oh = (i / (g.c * g.wo)) % g.ho, n = i / (g.c * g.wo * g.ho);
    float best;
    window_argmax(x, g, n, oh, ow, ch, &best);
    store(y, i, best);  // exact: a value of x
  }
}

// The first maximum's position in each window, row-major in the window (kH·kW < 255), one byte
// an output element: what the backward pass compares against instead of rereading the window.
template <class T>
__global__ void max_pool_winner_kernel(const T* x, uint8_t* winner, int64_t total, PoolGeometry g) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ch = i % g.c, ow = (i / g.c) % g.wo, oh = (i / (g.c * g.wo)) % g.ho, n = i / (g.c * g.wo * g.ho);
    float best;
    const int64_t at = window_argmax(x, g, n, oh, ow, ch, &best);
    uint8_t k = 255;  // an empty window (all padding) has no winner
    if (at >= 0) {
      const int64_t pix = at / g.c, iw = pix % g.w, ih = (pix / g.w) % g.h;
      k = static_cast<uint8_t>((ih - (oh * g.sh - g.ph)) * g.kw + (iw - (ow * g.sw - g.pw)));
    }
    winner[i] = k;
  }
}

// dx at each input element: the sum of dy over the windows whose first maximum it is (gathered,
// not scattered: no atomics, the same sum order every run).
template <class T>
__global__ void max_pool_backward_kernel(const T* dy, const uint8_t* winner, T* dx, int64_t total, PoolGeometry g) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ch = i % g.c, iw = (i / g.c) % g.w, ih = (i / (g.c * g.w)) % g.h, n = i / (g.c * g.w * g.h);
    // Windows that cover (ih, iw): oh·sh − ph ≤ ih < oh·sh − ph + kh.
    const int64_t oh0 = max(int64_t{0}, (ih + g.ph - g.kh + g.sh) / g.sh), oh1 = min(g.ho - 1, (ih + g.ph) / g.sh);
    const int64_t ow0 = max(int64_t{0}, (iw + g.pw - g.kw + g.sw) / g.sw), ow1 = min(g.wo - 1, (iw + g.pw) / g.sw);
    float acc = 0.f;
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        const int64_t o = ((n * g.ho + oh) * g.wo + ow) * g.c + ch;
        const int64_t k = (ih - (oh * g.sh - g.ph)) * g.kw + (iw - (ow * g.sw - g.pw));
        if (winner[o] == k) acc += load(dy, o);
      }
    store(dx, i, acc);
  }
}

// The same three passes a 16-byte pack of W channels a thread: the index arithmetic (64-bit
// divisions) once per pack instead of once per element, and vector loads (on the H200 the
// one-element backward took 7.5 ms a bf16 step at batch 256, ~15x its bandwidth floor).
template <int W>
struct alignas(W) WinnerPack {
  uint8_t v[W];
};

// y (optional) and winner (optional) for each (n, oh, ow, pack), the same values as above.
template <class T>
__global__ void max_pool_pack_kernel(const Pack<T>* x, Pack<T>* y, WinnerPack<Pack<T>::kWidth>* winner, int64_t total,
                                     PoolGeometry g) {
  constexpr int W = Pack<T>::kWidth;
  const int64_t cp = g.c / W;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t pk = i % cp, ow = (i / cp) % g.wo, oh = (i / (cp * g.wo)) % g.ho, n = i / (cp * g.wo * g.ho);
    float m[W];
    int k[W];
#pragma unroll
    for (int e = 0; e < W; ++e) m[e] = -INFINITY, k[e] = -1;
    for (int a = 0; a < g.kh; ++a) {
      const int64_t ih = oh * g.sh - g.ph + a;
      if (ih < 0 || ih >= g.h) continue;
      for (int b = 0; b < g.kw; ++b) {
        const int64_t iw = ow * g.sw - g.pw + b;
        if (iw < 0 || iw >= g.w) continue;
        const Pack<T> v = x[((n * g.h + ih) * g.w + iw) * cp + pk];
        const int tap = a * g.kw + b;
#pragma unroll
        for (int e = 0; e < W; ++e) {
          const float u = load(v.v, e);
          if (k[e] < 0 || (!isnan(m[e]) && (u > m[e] || isnan(u)))) m[e] = u, k[e] = tap;
        }
      }
    }
    if (y) {
      Pack<T> out;
#pragma unroll
      for (int e = 0; e < W; ++e) store(out.v, e, m[e]);  // exact: a value of x
      y[i] = out;
    }
    if (winner) {
      WinnerPack<W> w;
#pragma unroll
      for (int e = 0; e < W; ++e) w.v[e] = static_cast<uint8_t>(k[e] < 0 ? 255 : k[e]);
      winner[i] = w;
    }
  }
}

// dx for each (n, ih, iw, pack): windows in the same order as max_pool_backward_kernel, so the
// same sums to the bit.
template <class T>
__global__ void max_pool_backward_pack_kernel(const Pack<T>* dy, const WinnerPack<Pack<T>::kWidth>* winner, Pack<T>* dx,
                                              int64_t total, PoolGeometry g) {
  constexpr int W = Pack<T>::kWidth;
  const int64_t cp = g.c / W;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t pk = i % cp, iw = (i / cp) % g.w, ih = (i / (cp * g.w)) % g.h, n = i / (cp * g.w * g.h);
    const int64_t oh0 = max(int64_t{0}, (ih + g.ph - g.kh + g.sh) / g.sh), oh1 = min(g.ho - 1, (ih + g.ph) / g.sh);
    const int64_t ow0 = max(int64_t{0}, (iw + g.pw - g.kw + g.sw) / g.sw), ow1 = min(g.wo - 1, (iw + g.pw) / g.sw);
    float acc[W];
#pragma unroll
    for (int e = 0; e < W; ++e) acc[e] = 0.f;
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        const int64_t o = ((n * g.ho + oh) * g.wo + ow) * cp + pk;
        const int k = static_cast<int>((ih - (oh * g.sh - g.ph)) * g.kw + (iw - (ow * g.sw - g.pw)));
        const WinnerPack<W> w = winner[o];
        const Pack<T> d = dy[o];
#pragma unroll
        for (int e = 0; e < W; ++e)
          if (w.v[e] == k) acc[e] += load(d.v, e);
      }
    Pack<T> out;
#pragma unroll
    for (int e = 0; e < W; ++e) store(out.v, e, acc[e]);
    dx[i] = out;
  }
}

template <class T>
__global__ void gap_backward_kernel(const float* dy, T* dx, int64_t hw, int64_t c, int64_t total, float inv_hw) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ch = i % c;
    const int64_t n = i / (hw * c);
    store(dx, i, dy[n * c + ch] * inv_hw);
  }
}

}  // namespace

void max_pool_forward(const MaxPoolForward& a) {
  const MaxPoolParams& p = a.p;
  const Tensor &x = a.x, &y = a.y;
  Context& ctx = Context::get();
  if (x.dtype == DType::BF16) {
    const int64_t total = y.numel();
    if (total == 0) return;
    constexpr int W = Pack<bf16>::kWidth;
    if (packs_fit<bf16>(x.dim(3), {x.raw(), y.raw()})) {
      max_pool_pack_kernel<bf16><<<blocks_for(total / W), kThreads, 0, ctx.stream()>>>(
          reinterpret_cast<const Pack<bf16>*>(x.raw()), reinterpret_cast<Pack<bf16>*>(y.raw()), nullptr, total / W,
          geometry(p, x, y));
    } else {
      max_pool_forward_kernel<<<blocks_for(total), kThreads, 0, ctx.stream()>>>(x.data<bf16>(), y.data<bf16>(), total,
                                                                                geometry(p, x, y));
    }
    SENET_CUDA_LAUNCHED();
    return;
  }
  const CudnnApi& api = require_cudnn();
  MaxPoolPlan& plan = plan_for(p, x, y);
  const float one = 1.f, zero = 0.f;
  SENET_CUDNN_CHECK(api.cudnnPoolingForward(ctx.cudnn(), plan.pool.get(), &one, plan.x.get(), x.raw(), &zero,
                                            plan.y.get(), y.raw()));
}

void max_pool_backward(const MaxPoolBackward& a) {
  const MaxPoolParams& p = a.p;
  const Tensor &dy = a.dy, &x = a.x, &y = a.y, &dx = a.dx;
  Context& ctx = Context::get();
  if (x.dtype == DType::BF16) {
    const int64_t total = dx.numel(), outputs = dy.numel();
    if (total == 0) return;
    if (p.kernel_h * p.kernel_w >= 255)
      throw_error(ErrorCode::Argument, "max pool: a bf16 window on CUDA holds at most 254 elements");
    const PoolGeometry g = geometry(p, x, y);
    auto* winner = static_cast<uint8_t*>(ctx.scratch(static_cast<size_t>(std::max<int64_t>(outputs, 1))));
    constexpr int W = Pack<bf16>::kWidth;
    if (packs_fit<bf16>(x.dim(3), {x.raw(), dy.raw(), dx.raw()})) {
      auto* wp = reinterpret_cast<WinnerPack<W>*>(winner);  // scratch is 256-byte aligned
      if (outputs > 0) {
        max_pool_pack_kernel<bf16><<<blocks_for(outputs / W), kThreads, 0, ctx.stream()>>>(
            reinterpret_cast<const Pack<bf16>*>(x.raw()), nullptr, wp, outputs / W, g);
        SENET_CUDA_LAUNCHED();
      }
      max_pool_backward_pack_kernel<bf16><<<blocks_for(total / W), kThreads, 0, ctx.stream()>>>(
          reinterpret_cast<const Pack<bf16>*>(dy.raw()), wp, reinterpret_cast<Pack<bf16>*>(dx.raw()), total / W, g);
      SENET_CUDA_LAUNCHED();
      return;
    }
    if (outputs > 0) {
      max_pool_winner_kernel<<<blocks_for(outputs), kThreads, 0, ctx.stream()>>>(x.data<bf16>(), winner, outputs, g);
      SENET_CUDA_LAUNCHED();
    }
    max_pool_backward_kernel<<<blocks_for(total), kThreads, 0, ctx.stream()>>>(dy.data<bf16>(), winner, dx.data<bf16>(),
                                                                               total, g);
    SENET_CUDA_LAUNCHED();
    return;
  }
  const CudnnApi& api = require_cudnn();
  MaxPoolPlan& plan = plan_for(p, x, y);
  const float one = 1.f, zero = 0.f;
  SENET_CUDNN_CHECK(api.cudnnPoolingBackward(ctx.cudnn(), plan.pool.get(), &one, plan.y.get(), y.raw(), plan.y.get(),
                                             dy.raw(), plan.x.get(), x.raw(), &zero, plan.x.get(), dx.raw()));
}

void global_avg_pool_forward(const GlobalAvgPoolForward& a) {
  const Tensor &x = a.x, &y = a.y;
  const int64_t n = x.dim(0), hw = x.dim(1) * x.dim(2), c = x.dim(3);
  cudaStream_t s = Context::get().stream();
  if (x.dtype == DType::BF16) launch_channel_mean(x.data<bf16>(), y.data<float>(), n, hw, c, s);
  else launch_channel_mean(x.data<float>(), y.data<float>(), n, hw, c, s);
}

void global_avg_pool_backward(const GlobalAvgPoolBackward& a) {
  const Tensor &dy = a.dy, &dx = a.dx;
  const int64_t hw = dx.dim(1) * dx.dim(2), c = dx.dim(3), total = dx.numel();
  cudaStream_t s = Context::get().stream();
  const float inv_hw = 1.f / static_cast<float>(hw);
  if (dx.dtype == DType::BF16)
    gap_backward_kernel<<<blocks_for(total), kThreads, 0, s>>>(dy.data<float>(), dx.data<bf16>(), hw, c, total, inv_hw);
  else
    gap_backward_kernel<<<blocks_for(total), kThreads, 0, s>>>(dy.data<float>(), dx.data<float>(), hw, c, total, inv_hw);
  SENET_CUDA_LAUNCHED();
}

}  // namespace senet::cuda
