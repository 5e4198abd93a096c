// The SE block on the GPU: the squeeze and the two passes over the large (N, H, W, C) tensors are
// our kernels (each reads u once: once for the squeeze, once for scale + residual + ReLU); the two
// small fully connected layers are cuBLAS products. Backward keeps nothing larger than (N, C)
// beyond its inputs. The large tensors are T = float, or bf16 in mixed precision; the gate's
// arithmetic and the small tensors are float32 either way.
#include "cuda/blas.h"
#include "cuda/context.h"
#include "cuda/kernels.cuh"
#include "ops/dispatch.h"
#include "ops/maths.h"
#include "ops/se.h"

namespace senet::cuda {

namespace {

// gate = sigmoid(logit + b2), in place on (N, C).
__global__ void gate_kernel(float* gate, const float* b2, int64_t n, int64_t c) {
  const int64_t total = n * c;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x)
    gate[i] = sigmoid(gate[i] + b2[i % c]);
}

// y = u · gate[n, c] (+ shortcut, then ReLU).
template <class T>
__global__ void scale_kernel(const T* u, const float* gate, const T* shortcut, T* y, int64_t total, int64_t hwc,
                             int64_t c) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const float s = gate[(i / hwc) * c + i % c];
    float v = load(u, i) * s;
    if (shortcut) {
      v += load(shortcut, i);
      v = v < 0.f ? 0.f : v;  // NaN passes
    }
    store(y, i, v);
  }
}

// The same, one 16-byte pack a thread (8 bf16 or 4 float values of one pixel: C % width == 0).
template <class T>
__global__ void scale_pack_kernel(const Pack<T>* u, const float* gate, const Pack<T>* shortcut, Pack<T>* y, int64_t packs,
                                  int64_t hwc, int64_t c) {
  constexpr int W = Pack<T>::kWidth;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < packs; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t e = i * W;
    const float* s = gate + (e / hwc) * c + e % c;
    const Pack<T> in = u[i];
    Pack<T> sc, out;
    if (shortcut) sc = shortcut[i];
#pragma unroll
    for (int k = 0; k < W; ++k) {
      float v = load(in.v, k) * s[k];
      if (shortcut) {
        v += load(sc.v, k);
        v = v < 0.f ? 0.f : v;  // NaN passes
      }
      store(out.v, k, v);
    }
    y[i] = out;
  }
}

// Per (n, c): g = dy (through the final ReLU's mask when there is a shortcut, and then also the
// shortcut's gradient), d gate = Σ over H, W of g · u, and the logit gradient d gate · s (1 − s).
// Block (32, 8), grid (N, ceil(C / 32)).
template <class T>
__global__ void gate_grad_kernel(const T* dy, const T* y, const T* u, const float* gate, T* dshortcut, float* dlogit,
                                 int64_t hw, int64_t c) {
  __shared__ float partial[8][32];
  const int64_t ch = blockIdx.y * int64_t{32} + threadIdx.x;
  const int64_t n = blockIdx.x;
  float acc = 0.f;
  if (ch < c) {
    const int64_t base = n * hw * c + ch;
    for (int64_t q = threadIdx.y; q < hw; q += 8) {
      const int64_t i = base + q * c;
      float g = load(dy, i);
      if (dshortcut) {
        g = load(y, i) > 0.f ? g : 0.f;
        store(dshortcut, i, g);  // exact in bf16: g is dy or 0
      }
      acc += g * load(u, i);
    }
  }
  partial[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && ch < c) {
    float sum = 0.f;
    for (int r = 0; r < 8; ++r) sum += partial[r][threadIdx.x];
    const float s = gate[n * c + ch];
    dlogit[n * c + ch] = sum * s * (1.f - s);
  }
}

// The same a 16-byte pack of channels a thread: block and grid from pack_grid(C / W, N).
template <class T>
__global__ void gate_grad_pack_kernel(const Pack<T>* dy, const Pack<T>* y, const Pack<T>* u, const float* gate,
                                      Pack<T>* dshortcut, float* dlogit, int64_t hw, int64_t packs) {
  constexpr int W = Pack<T>::kWidth;
  const int64_t pk = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  const int64_t n = blockIdx.y;
  float acc[W];
#pragma unroll
  for (int e = 0; e < W; ++e) acc[e] = 0.f;
  if (pk < packs) {
    const int64_t base = n * hw * packs + pk;
    for (int64_t q = threadIdx.y; q < hw; q += blockDim.y) {
      const int64_t i = base + q * packs;
      Pack<T> g = dy[i];
      if (dshortcut) {
        const Pack<T> o = y[i];
#pragma unroll
        for (int e = 0; e < W; ++e) store(g.v, e, load(o.v, e) > 0.f ? load(g.v, e) : 0.f);  // exact: dy or 0
        dshortcut[i] = g;
      }
      const Pack<T> v = u[i];
#pragma unroll
      for (int e = 0; e < W; ++e) acc[e] += load(g.v, e) * load(v.v, e);
    }
  }
  sum_over_rows(acc);
  if (threadIdx.y == 0 && pk < packs) {
#pragma unroll
    for (int e = 0; e < W; ++e) {
      const int64_t at = n * packs * W + pk * W + e;
      const float s = gate[at];
      dlogit[at] = acc[e] * s * (1.f - s);
    }
  }
}

// dh *= (hidden > 0): the fc1 ReLU's mask, on (N, R).
__global__ void relu_mask_kernel(float* dh, const float* hidden, int64_t total) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x)
    if (!(hidden[i] > 0.f)) dh[i] = 0.f;
}

// du = g · gate + d pooled / (H W), g read from dshortcut when there is one (already masked).
template <class T>
__global__ void input_grad_kernel(const T* g, const float* gate, const float* dpooled, T* du, int64_t total, int64_t hwc,
                                  int64_t c, float inv_hw) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t nc = (i / hwc) * c + i % c;
    store(du, i, load(g, i) * gate[nc] + dpooled[nc] * inv_hw);
  }
}

template <class T>
__global__ void input_grad_pack_kernel(const Pack<T>* g, const float* gate, const float* dpooled, Pack<T>* du,
                                       int64_t packs, int64_t hwc, int64_t c, float inv_hw) {
  constexpr int W = Pack<T>::kWidth;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < packs; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t e = i * W, nc = (e / hwc) * c + e % c;
    const Pack<T> in = g[i];
    Pack<T> out;
#pragma unroll
    for (int k = 0; k < W; ++k) store(out.v, k, load(in.v, k) * gate[nc + k] + dpooled[nc + k] * inv_hw);
    du[i] = out;
  }
}

template <class T>
void forward_as(const SeForward& a) {
  const Tensor &u = a.u, &w1 = a.w1, &b1 = a.b1, &w2 = a.w2, &b2 = a.b2;
  const Tensor &y = a.y, &pooled = a.pooled, &hidden = a.hidden, &gate = a.gate;
  const Tensor* shortcut = opt(a.shortcut);
  const int64_t n = u.dim(0), hw = u.dim(1) * u.dim(2), c = u.dim(3), r = w1.dim(0), total = u.numel();
  cudaStream_t s = Context::get().stream();
  launch_channel_mean(u.data<T>(), pooled.data<float>(), n, hw, c, s);                     // (N, C)
  gemm_forward(n, c, r, pooled.data<float>(), w1.data<float>(), hidden.data<float>());           // (N, R)
  launch_add_bias(hidden.data<float>(), b1.data<float>(), n, r, true, s);
  gemm_forward(n, r, c, hidden.data<float>(), w2.data<float>(), gate.data<float>());             // (N, C)
  gate_kernel<<<blocks_for(n * c), kThreads, 0, s>>>(gate.data<float>(), b2.data<float>(), n, c);
  SENET_CUDA_LAUNCHED();
  const T* sc = shortcut ? shortcut->data<T>() : nullptr;
  if (packs_fit<T>(c, {u.raw(), sc, y.raw()})) {
    const int64_t packs = total / Pack<T>::kWidth;
    scale_pack_kernel<T><<<blocks_for(packs), kThreads, 0, s>>>(
        reinterpret_cast<const Pack<T>*>(u.raw()), gate.data<float>(), reinterpret_cast<const Pack<T>*>(sc),
        reinterpret_cast<Pack<T>*>(y.raw()), packs, hw * c, c);
  } else {
    scale_kernel<T><<<blocks_for(total), kThreads, 0, s>>>(u.data<T>(), gate.data<float>(), sc, y.data<T>(), total, hw * c,
                                                           c);
  }
  SENET_CUDA_LAUNCHED();
}

template <class T>
void backward_as(const SeBackward& a) {
  const Tensor &dy = a.dy, &u = a.u, &w1 = a.w1, &w2 = a.w2, &pooled = a.pooled, &hidden = a.hidden;
  const Tensor &gate = a.gate, &du = a.du, &dw1 = a.dw1, &db1 = a.db1, &dw2 = a.dw2, &db2 = a.db2;
  const Tensor *y = a.residual ? opt(a.y) : nullptr, *dshortcut = opt(a.dshortcut);
  const int64_t n = u.dim(0), hw = u.dim(1) * u.dim(2), c = u.dim(3), r = w1.dim(0), total = u.numel();
  Context& ctx = Context::get();
  cudaStream_t s = ctx.stream();
  // (N, C) logit gradient, (N, R) hidden gradient, (N, C) pooled gradient.
  float* dlogit = static_cast<float*>(ctx.scratch(static_cast<size_t>(n) * (2 * c + r) * sizeof(float)));
  float* dh = dlogit + n * c;
  float* dpooled = dh + n * r;
  T* dsc = dshortcut ? dshortcut->data<T>() : nullptr;
  if (packs_fit<T>(c, {dy.raw(), y ? y->raw() : nullptr, u.raw(), dsc})) {
    const int64_t packs = c / Pack<T>::kWidth;
    const PackGrid g = pack_grid(packs, static_cast<unsigned>(n));
    gate_grad_pack_kernel<T><<<g.grid, g.block, 0, s>>>(
        reinterpret_cast<const Pack<T>*>(dy.raw()), reinterpret_cast<const Pack<T>*>(y ? y->raw() : nullptr),
        reinterpret_cast<const Pack<T>*>(u.raw()), gate.data<float>(), reinterpret_cast<Pack<T>*>(dsc), dlogit, hw, packs);
  } else {
    dim3 block(32, 8), grid(static_cast<unsigned>(n), static_cast<unsigned>((c + 31) / 32));
    gate_grad_kernel<T><<<grid, block, 0, s>>>(dy.data<T>(), y ? y->data<T>() : nullptr, u.data<T>(), gate.data<float>(),
                                               dsc, dlogit, hw, c);
  }
  SENET_CUDA_LAUNCHED();
  // fc2: dw2 (C, R) = dlogit^T · hidden, db2 = Σ_n dlogit, dh = dlogit · w2, masked by the ReLU.
  gemm_backward_weights(n, r, c, dlogit, hidden.data<float>(), dw2.data<float>());
  launch_column_sum(dlogit, db2.data<float>(), n, c, s);
  gemm_backward_data(n, r, c, dlogit, w2.data<float>(), dh);
  relu_mask_kernel<<<blocks_for(n * r), kThreads, 0, s>>>(dh, hidden.data<float>(), n * r);
  SENET_CUDA_LAUNCHED();
  // fc1: dw1 (R, C) = dh^T · pooled, db1 = Σ_n dh, dpooled = dh · w1.
  gemm_backward_weights(n, c, r, dh, pooled.data<float>(), dw1.data<float>());
  launch_column_sum(dh, db1.data<float>(), n, r, s);
  gemm_backward_data(n, c, r, dh, w1.data<float>(), dpooled);
  const T* g = dsc ? dsc : dy.data<T>();
  const float inv_hw = 1.f / static_cast<float>(hw);
  if (packs_fit<T>(c, {g, du.raw()})) {
    const int64_t packs = total / Pack<T>::kWidth;
    input_grad_pack_kernel<T><<<blocks_for(packs), kThreads, 0, s>>>(reinterpret_cast<const Pack<T>*>(g),
                                                                     gate.data<float>(), dpooled,
                                                                     reinterpret_cast<Pack<T>*>(du.raw()), packs, hw * c,
                                                                     c, inv_hw);
  } else {
    input_grad_kernel<T><<<blocks_for(total), kThreads, 0, s>>>(g, gate.data<float>(), dpooled, du.data<T>(), total,
                                                                hw * c, c, inv_hw);
  }
  SENET_CUDA_LAUNCHED();
}

}  // namespace

void se_forward(const SeForward& a) {
  if (a.u.dtype == DType::BF16) forward_as<bf16>(a);
  else forward_as<float>(a);
}

void se_backward(const SeBackward& a) {
  if (a.u.dtype == DType::BF16) backward_as<bf16>(a);
  else backward_as<float>(a);
}

}  // namespace senet::cuda
