// The SE block on the CPU: our own loops (oneDNN has no fused gate). Each pass over the large
// (N, H, W, C) tensors is parallel over rows of C contiguous floats, so it vectorises. The two
// fully connected layers run for the whole batch at once as small matrix products (oneDNN's
// sgemm), so that each weight matrix is read once per call rather than once per image.
#include <cmath>

#include "core/bf16.h"
#include "cpu/dnnl_context.h"
#include "ops/dispatch.h"
#include "ops/maths.h"
#include "ops/se.h"

namespace senet::cpu {

namespace {

// T: the element type of u, shortcut, y, dy, du, dshortcut (float, or bf16 in mixed precision);
// pooled, hidden, gate and every sum are float32 either way.
template <class T>
void forward(const SeForward& a) {
  const Tensor &u = a.u, &w1 = a.w1, &b1 = a.b1, &w2 = a.w2, &b2 = a.b2;
  const Tensor &y = a.y, &pooled = a.pooled, &hidden = a.hidden, &gate = a.gate;
  const Tensor* shortcut = opt(a.shortcut);
  const int64_t n = u.dim(0), hw = u.dim(1) * u.dim(2), c = u.dim(3), r = w1.dim(0);
  const T* up = u.data<T>();
  float* zp = pooled.data<float>();  // (N, C)
  float* hp = hidden.data<float>();  // (N, R)
  float* sp = gate.data<float>();    // (N, C)
  const float* w1p = w1.data<float>();
  const float* b1p = b1.data<float>();
  const float* w2p = w2.data<float>();
  const float* b2p = b2.data<float>();
  const float inv_hw = 1.f / static_cast<float>(hw);

  // Squeeze: z (N, C) = the mean of u over H and W.
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float* __restrict z = zp + i * c;
    for (int64_t k = 0; k < c; ++k) z[k] = 0.f;
    const T* ui = up + i * hw * c;
    for (int64_t q = 0; q < hw; ++q) {
      const T* __restrict row = ui + q * c;
#pragma omp simd
      for (int64_t k = 0; k < c; ++k) z[k] += load(row, k);
    }
    for (int64_t k = 0; k < c; ++k) z[k] *= inv_hw;
  }
  // Excitation: h (N, R) = relu(z w1^T + b1), gate (N, C) = sigmoid(h w2^T + b2).
  sgemm('N', 'T', n, r, c, zp, c, w1p, c, hp, r);
  for (int64_t i = 0; i < n; ++i) {
    float* h = hp + i * r;
    for (int64_t j = 0; j < r; ++j) {
      const float v = h[j] + b1p[j];
      h[j] = v < 0.f ? 0.f : v;  // NaN passes, as in PyTorch's relu
    }
  }
  sgemm('N', 'T', n, c, r, hp, r, w2p, r, sp, c);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float* s = sp + i * c;
    for (int64_t k = 0; k < c; ++k) s[k] = sigmoid(s[k] + b2p[k]);
  }

  const T* scp = shortcut ? shortcut->data<T>() : nullptr;
  T* yp = y.data<T>();
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < n * hw; ++row) {
    const float* s = sp + (row / hw) * c;
    const T* ur = up + row * c;
    T* yr = yp + row * c;
    if (scp) {
      const T* sc = scp + row * c;
#pragma omp simd
      for (int64_t k = 0; k < c; ++k) {
        float v = load(ur, k) * s[k] + load(sc, k);
        store(yr, k, v < 0.f ? 0.f : v);
      }
    } else {
#pragma omp simd
      for (int64_t k = 0; k < c; ++k) store(yr, k, load(ur, k) * s[k]);
    }
  }
}

template <class T>
void backward(const SeBackward& a) {
  const Tensor &dy = a.dy, &u = a.u, &w1 = a.w1, &w2 = a.w2, &pooled = a.pooled, &hidden = a.hidden;
  const Tensor &gate = a.gate, &du = a.du, &dw1 = a.dw1, &db1 = a.db1, &dw2 = a.dw2, &db2 = a.db2;
  const Tensor *y = a.residual ? opt(a.y) : nullptr, *dshortcut = opt(a.dshortcut);
  const int64_t n = u.dim(0), hw = u.dim(1) * u.dim(2), c = u.dim(3), r = w1.dim(0);
  const T* dyp = dy.data<T>();
  const T* up = u.data<T>();
  const T* yp = y ? y->data<T>() : nullptr;
  const float* zp = pooled.data<float>();
  const float* hp = hidden.data<float>();
  const float* sp = gate.data<float>();
  const float* w1p = w1.data<float>();
  const float* w2p = w2.data<float>();
  T* dsc = dshortcut ? dshortcut->data<T>() : nullptr;
  // With a shortcut, the gradient below the final ReLU is dy masked by y > 0; it is also the
  // shortcut's gradient, so it is written there and read back in the second pass.
  const bool masked = dsc != nullptr;

  // (N, C) logit gradient of the gate, (N, R) hidden gradient, (N, C) pooled gradient.
  float* small = scratch_as<float>(Scratch::Small, static_cast<size_t>(n * (2 * c + r)));
  float* dlogit = small;
  float* dh = small + n * c;
  float* dz = dh + n * r;

  // Pass 1: d gate[n, c] = sum over H, W of g * u. (Every load is unconditional and the pointers
  // are restrict, so that the masked loop vectorises: a conditional load would keep it scalar and
  // branchy.)
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float* __restrict dg = dlogit + i * c;
    for (int64_t k = 0; k < c; ++k) dg[k] = 0.f;
    for (int64_t q = 0; q < hw; ++q) {
      const int64_t off = (i * hw + q) * c;
      const T* __restrict dr = dyp + off;
      const T* __restrict ur = up + off;
      if (masked) {
        const T* __restrict yr = yp + off;
        T* __restrict gr = dsc + off;
#pragma omp simd
        for (int64_t k = 0; k < c; ++k) {
          const float d = load(dr, k);
          const float g = load(yr, k) > 0.f ? d : 0.f;
          store(gr, k, g);  // exact: g is dy or 0
          dg[k] += g * load(ur, k);
        }
      } else {
#pragma omp simd
        for (int64_t k = 0; k < c; ++k) dg[k] += load(dr, k) * load(ur, k);
      }
    }
    const float* s = sp + i * c;
    for (int64_t k = 0; k < c; ++k) dg[k] *= s[k] * (1.f - s[k]);  // through the sigmoid
  }

  // Through fc2 and the ReLU: dh (N, R) = (dlogit w2) where h > 0; through fc1 back to the pooled
  // vector: dz (N, C) = dh w1. Weight gradients: dw2 (C, R) = dlogit^T h, dw1 (R, C) = dh^T z.
  sgemm('N', 'N', n, r, c, dlogit, c, w2p, r, dh, r);
  for (int64_t e = 0; e < n * r; ++e) dh[e] = hp[e] > 0.f ? dh[e] : 0.f;
  sgemm('N', 'N', n, c, r, dh, r, w1p, c, dz, c);
  float* dw2p = dw2.data<float>();
  float* db2p = db2.data<float>();
  float* dw1p = dw1.data<float>();
  float* db1p = db1.data<float>();
  sgemm('T', 'N', c, r, n, dlogit, c, hp, r, dw2p, r);
  sgemm('T', 'N', r, c, n, dh, r, zp, c, dw1p, c);
  // Bias gradients: sums over the batch.
  for (int64_t k = 0; k < c; ++k) db2p[k] = 0.f;
  for (int64_t j = 0; j < r; ++j) db1p[j] = 0.f;
  for (int64_t i = 0; i < n; ++i) {
    const float* __restrict g = dlogit + i * c;
#pragma omp simd
    for (int64_t k = 0; k < c; ++k) db2p[k] += g[k];
    const float* __restrict gh = dh + i * r;
    for (int64_t j = 0; j < r; ++j) db1p[j] += gh[j];
  }

  // Pass 2: du = g * gate + d pooled / (H W).
  const float inv_hw = 1.f / static_cast<float>(hw);
  const T* gp = masked ? dsc : dyp;
  T* dup = du.data<T>();
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < n * hw; ++row) {
    const int64_t i = row / hw;
    const float* s = sp + i * c;
    const float* dzi = dz + i * c;
    const T* g = gp + row * c;
    T* d = dup + row * c;
#pragma omp simd
    for (int64_t k = 0; k < c; ++k) store(d, k, load(g, k) * s[k] + dzi[k] * inv_hw);
  }
}

}  // namespace

void se_forward(const SeForward& a) { a.u.dtype == DType::BF16 ? forward<bf16>(a) : forward<float>(a); }

void se_backward(const SeBackward& a) { a.u.dtype == DType::BF16 ? backward<bf16>(a) : backward<float>(a); }

}  // namespace senet::cpu
