// Softmax cross-entropy, mean over the batch, with PyTorch's label smoothing:
//   loss_n = (1 - eps) * (-log p[n, label]) + eps * mean_k(-log p[n, k])
// logits (N, K) float32; labels (N) int64 or int32; loss () float32; correct () int32 counts the
// rows whose arg-max (first maximum) equals the label. Results stay on the device.
#pragma once

#include "core/tensor.h"

namespace senet {

struct CrossEntropyParams {
  float label_smoothing = 0.0f;
};

void cross_entropy_forward(const CrossEntropyParams& p, const Tensor& logits, const Tensor& labels,
                           Tensor& loss, Tensor* correct);
/// dlogits = d(mean loss) / d logits, overwritten.
void cross_entropy_backward(const CrossEntropyParams& p, const Tensor& logits,
                            const Tensor& labels, Tensor& dlogits);

namespace cpu {
void cross_entropy_forward(const CrossEntropyParams& p, const Tensor& logits, const Tensor& labels,
                           Tensor& loss, Tensor* correct);
void cross_entropy_backward(const CrossEntropyParams& p, const Tensor& logits,
                            const Tensor& labels, Tensor& dlogits);
}  // namespace cpu

namespace cuda {
void cross_entropy_forward(const CrossEntropyParams& p, const Tensor& logits, const Tensor& labels,
                           Tensor& loss, Tensor* correct);
void cross_entropy_backward(const CrossEntropyParams& p, const Tensor& logits,
                            const Tensor& labels, Tensor& dlogits);
}  // namespace cuda

}  // namespace senet
