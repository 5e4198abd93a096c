// The arithmetic both backends must do alike, written once for the host and the device: the SGD
// update (torch.optim.SGD's rule), PyTorch's running batch-norm statistics, and the sigmoid of the
// SE gate. The CPU loops and the CUDA kernels call these, so a change reaches both. (Same formula,
// not always the same bits: nvcc contracts a multiply and an add into one FMA, while the CPU build
// rounds after each operation, as torch's CPU kernels do; its AVX-512 bf16 file is compiled with
// -ffp-contract=off for that reason.)
#pragma once

#include <cmath>

#include "ops/sgd.h"

#if defined(__CUDACC__)
#define SENET_MATHS_HD __host__ __device__ __forceinline__
#else
#define SENET_MATHS_HD inline
#endif

namespace senet {

/// torch.optim.SGD for one element: d = g + wd·w; with momentum b = first ? d : mu·b + (1 −
/// dampening)·d and d = nesterov ? d + mu·b : b; w − lr·d.
struct SgdRule {
  float lr, wd, mu, damp;
  bool first, nesterov, momentum;

  static SgdRule of(const SgdParams& p) {
    return {p.lr, p.weight_decay, p.momentum, 1.f - p.dampening, p.first_step, p.nesterov, p.momentum != 0.f};
  }

  /// The gradient with weight decay.
  SENET_MATHS_HD float decayed(float w, float g) const { return g + wd * w; }
  /// The new momentum buffer from the decayed gradient d and the old buffer.
  SENET_MATHS_HD float buffer(float d, float old) const { return first ? d : mu * old + damp * d; }
  /// The weight after a step along d and the new buffer b.
  SENET_MATHS_HD float updated(float w, float d, float b) const { return w - lr * (nesterov ? d + mu * b : b); }

  /// The updated weight; buf is the momentum buffer's element (untouched without momentum). (CPU
  /// loops call the pieces above: a float passed by reference keeps GCC from vectorising them.)
  SENET_MATHS_HD float step(float w, float g, float& buf) const {
    const float d = decayed(w, g);
    if (!momentum) return w - lr * d;
    buf = buffer(d, buf);
    return updated(w, d, buf);
  }
};

/// PyTorch's running statistics after a training-mode batch norm over `count` values per channel:
/// r = (1 − momentum)·r + momentum·batch, the variance kept being the unbiased one.
struct BnRunning {
  float momentum, unbias;  // unbias = count / (count − 1)

  static BnRunning of(float momentum, double count) {
    return {momentum, static_cast<float>(count / (count - 1))};
  }
  SENET_MATHS_HD void update(float& mean, float& var, float batch_mean, float batch_var) const {
    mean = (1 - momentum) * mean + momentum * batch_mean;
    var = (1 - momentum) * var + momentum * batch_var * unbias;
  }
};

/// The SE gate's logistic function.
SENET_MATHS_HD float sigmoid(float v) {
#if defined(__CUDA_ARCH__)
  return 1.f / (1.f + expf(-v));
#else
  return 1.f / (1.f + std::exp(-v));
#endif
}

}  // namespace senet
