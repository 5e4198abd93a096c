// Softmax cross-entropy, mean over the batch, with PyTorch's label smoothing:
//   loss_n = (1 - eps) * (-log p[n, label]) + eps * mean_k(-log p[n, k])
// logits (N, K) float32; labels (N) int64 or int32; loss () float32; correct () int32 counts the
// rows whose arg-max (first maximum) equals the label. Results stay on the device. A label out
// of [0, K) is an error on both backends, reported when the op runs (at the next read).
#pragma once

#include "core/tensor.h"

namespace senet {

struct CrossEntropyParams {
  float label_smoothing = 0.0f;
};

/// correct is optional.
struct CrossEntropyForward {
  CrossEntropyParams p;
  Tensor logits, labels, loss, correct;
};

/// dlogits = d(mean loss) / d logits, overwritten.
struct CrossEntropyBackward {
  CrossEntropyParams p;
  Tensor logits, labels, dlogits;
};

/// probabilities (N, K) = softmax of each row of logits (N, K), in float32 with the row's maximum
/// subtracted first (no overflow for any finite logits).
struct Softmax {
  Tensor logits, probabilities;
};

/// Checks the inputs (the shapes: loss and correct are scalars, dlogits is logits' shape).
void cross_entropy_check_inputs(const char* op, const CrossEntropyParams& p, const Tensor& logits, const Tensor& labels);
void cross_entropy_forward(const CrossEntropyForward& a);
void cross_entropy_backward(const CrossEntropyBackward& a);
void softmax(const Softmax& a);

namespace cpu {
void cross_entropy_forward(const CrossEntropyForward& a);
void cross_entropy_backward(const CrossEntropyBackward& a);
void softmax(const Softmax& a);
}  // namespace cpu

namespace cuda {
void cross_entropy_forward(const CrossEntropyForward& a);
void cross_entropy_backward(const CrossEntropyBackward& a);
void softmax(const Softmax& a);
}  // namespace cuda

}  // namespace senet
