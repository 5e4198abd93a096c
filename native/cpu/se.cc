// The SE block on the CPU: our own loops (oneDNN has no fused gate). Each pass over the large
// (N, H, W, C) tensors is parallel over rows of C contiguous floats, so it vectorises.
#include <cmath>

#include "cpu/dnnl_context.h"
#include "ops/se.h"

namespace senet::cpu {

namespace {

inline float sigmoid(float v) { return 1.f / (1.f + std::exp(-v)); }

}  // namespace

void se_forward(const Tensor& u, const Tensor& w1, const Tensor& b1, const Tensor& w2,
                const Tensor& b2, const Tensor* shortcut, Tensor& y, Tensor& pooled,
                Tensor& hidden, Tensor& gate) {
  const int64_t n = u.dim(0), hw = u.dim(1) * u.dim(2), c = u.dim(3), r = w1.dim(0);
  const float* up = u.data<float>();
  float* zp = pooled.data<float>();  // (N, C)
  float* hp = hidden.data<float>();  // (N, R)
  float* sp = gate.data<float>();    // (N, C)
  const float* w1p = w1.data<float>();
  const float* b1p = b1.data<float>();
  const float* w2p = w2.data<float>();
  const float* b2p = b2.data<float>();
  const float inv_hw = 1.f / static_cast<float>(hw);

#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float* z = zp + i * c;
    for (int64_t k = 0; k < c; ++k) z[k] = 0.f;
    const float* ui = up + i * hw * c;
    for (int64_t q = 0; q < hw; ++q) {
      const float* row = ui + q * c;
#pragma omp simd
      for (int64_t k = 0; k < c; ++k) z[k] += row[k];
    }
    for (int64_t k = 0; k < c; ++k) z[k] *= inv_hw;
    float* h = hp + i * r;
    for (int64_t j = 0; j < r; ++j) {
      const float* wr = w1p + j * c;
      float acc = b1p[j];
#pragma omp simd reduction(+ : acc)
      for (int64_t k = 0; k < c; ++k) acc += wr[k] * z[k];
      h[j] = acc < 0.f ? 0.f : acc;  // NaN passes, as in PyTorch's relu
    }
    float* s = sp + i * c;
    for (int64_t k = 0; k < c; ++k) {
      const float* wr = w2p + k * r;
      float acc = b2p[k];
#pragma omp simd reduction(+ : acc)
      for (int64_t j = 0; j < r; ++j) acc += wr[j] * h[j];
      s[k] = sigmoid(acc);
    }
  }

  const float* scp = shortcut ? shortcut->data<float>() : nullptr;
  float* yp = y.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < n * hw; ++row) {
    const float* s = sp + (row / hw) * c;
    const float* ur = up + row * c;
    float* yr = yp + row * c;
    if (scp) {
      const float* sc = scp + row * c;
#pragma omp simd
      for (int64_t k = 0; k < c; ++k) {
        float v = ur[k] * s[k] + sc[k];
        yr[k] = v < 0.f ? 0.f : v;
      }
    } else {
#pragma omp simd
      for (int64_t k = 0; k < c; ++k) yr[k] = ur[k] * s[k];
    }
  }
}

void se_backward(const Tensor& dy, const Tensor& u, const Tensor* y, const Tensor& w1,
                 const Tensor& w2, const Tensor& pooled, const Tensor& hidden, const Tensor& gate,
                 Tensor& du, Tensor* dshortcut, Tensor& dw1, Tensor& db1, Tensor& dw2,
                 Tensor& db2) {
  const int64_t n = u.dim(0), hw = u.dim(1) * u.dim(2), c = u.dim(3), r = w1.dim(0);
  const float* dyp = dy.data<float>();
  const float* up = u.data<float>();
  const float* yp = y ? y->data<float>() : nullptr;
  const float* zp = pooled.data<float>();
  const float* hp = hidden.data<float>();
  const float* sp = gate.data<float>();
  const float* w1p = w1.data<float>();
  const float* w2p = w2.data<float>();
  float* dsc = dshortcut ? dshortcut->data<float>() : nullptr;
  // With a shortcut, the gradient below the final ReLU is dy masked by y > 0; it is also the
  // shortcut's gradient, so it is written there and read back in the second pass.
  const bool masked = dsc != nullptr;

  // (N, C) logit gradient of the gate, (N, R) hidden gradient, (N, C) pooled gradient.
  float* small = scratch_as<float>(Scratch::Small, static_cast<size_t>(n * (2 * c + r)));
  float* dlogit = small;
  float* dh = small + n * c;
  float* dz = dh + n * r;

  // Pass 1: d gate[n, c] = sum over H, W of g * u.
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float* dg = dlogit + i * c;
    for (int64_t k = 0; k < c; ++k) dg[k] = 0.f;
    for (int64_t q = 0; q < hw; ++q) {
      const int64_t off = (i * hw + q) * c;
      if (masked) {
#pragma omp simd
        for (int64_t k = 0; k < c; ++k) {
          float g = yp[off + k] > 0.f ? dyp[off + k] : 0.f;
          dsc[off + k] = g;
          dg[k] += g * up[off + k];
        }
      } else {
#pragma omp simd
        for (int64_t k = 0; k < c; ++k) dg[k] += dyp[off + k] * up[off + k];
      }
    }
    const float* s = sp + i * c;
    for (int64_t k = 0; k < c; ++k) dg[k] *= s[k] * (1.f - s[k]);  // through the sigmoid
    // Through fc2 and the ReLU.
    const float* h = hp + i * r;
    float* dhi = dh + i * r;
    for (int64_t j = 0; j < r; ++j) {
      float acc = 0.f;
      if (h[j] > 0.f) {
        for (int64_t k = 0; k < c; ++k) acc += dg[k] * w2p[k * r + j];
      }
      dhi[j] = acc;
    }
    // Through fc1, back to the pooled vector.
    float* dzi = dz + i * c;
    for (int64_t k = 0; k < c; ++k) dzi[k] = 0.f;
    for (int64_t j = 0; j < r; ++j) {
      const float g = dhi[j];
      const float* wr = w1p + j * c;
#pragma omp simd
      for (int64_t k = 0; k < c; ++k) dzi[k] += g * wr[k];
    }
  }

  // fc weight and bias gradients: sums over the batch.
  float* dw2p = dw2.data<float>();
  float* db2p = db2.data<float>();
  float* dw1p = dw1.data<float>();
  float* db1p = db1.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < c; ++k) {
    float bsum = 0.f;
    float* wrow = dw2p + k * r;
    for (int64_t j = 0; j < r; ++j) wrow[j] = 0.f;
    for (int64_t i = 0; i < n; ++i) {
      const float g = dlogit[i * c + k];
      bsum += g;
      const float* h = hp + i * r;
      for (int64_t j = 0; j < r; ++j) wrow[j] += g * h[j];
    }
    db2p[k] = bsum;
  }
#pragma omp parallel for schedule(static)
  for (int64_t j = 0; j < r; ++j) {
    float bsum = 0.f;
    float* wrow = dw1p + j * c;
    for (int64_t k = 0; k < c; ++k) wrow[k] = 0.f;
    for (int64_t i = 0; i < n; ++i) {
      const float g = dh[i * r + j];
      bsum += g;
      const float* z = zp + i * c;
#pragma omp simd
      for (int64_t k = 0; k < c; ++k) wrow[k] += g * z[k];
    }
    db1p[j] = bsum;
  }

  // Pass 2: du = g * gate + d pooled / (H W).
  const float inv_hw = 1.f / static_cast<float>(hw);
  const float* gp = masked ? dsc : dyp;
  float* dup = du.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < n * hw; ++row) {
    const int64_t i = row / hw;
    const float* s = sp + i * c;
    const float* dzi = dz + i * c;
    const float* g = gp + row * c;
    float* d = dup + row * c;
#pragma omp simd
    for (int64_t k = 0; k < c; ++k) d[k] = g[k] * s[k] + dzi[k] * inv_hw;
  }
}

}  // namespace senet::cpu
