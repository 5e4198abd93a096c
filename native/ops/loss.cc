#include "ops/loss.h"

#include <cmath>

#include "ops/dispatch.h"

namespace senet {

void cross_entropy_check_inputs(const char* op, const CrossEntropyParams& p, const Tensor& logits,
                                const Tensor& labels) {
  Check c(op);
  if (!(p.label_smoothing >= 0 && p.label_smoothing <= 1))
    c.fail(ErrorCode::Argument, "labelSmoothing: expected a number in [0, 1], received " + std::to_string(p.label_smoothing));
  c.tensor_rank(logits, "logits", DType::F32, 2);
  c.usable(labels, "labels");
  if (labels.dtype != DType::I64 && labels.dtype != DType::I32)
    c.fail(ErrorCode::DType, std::string("labels: expected dtype int64 or int32, received ") + dtype_name(labels.dtype));
  c.shape(labels, "labels", {logits.dim(0)});
}

void cross_entropy_forward(const CrossEntropyForward& a) {
  Check c("crossEntropyForward");
  cross_entropy_check_inputs("crossEntropyForward", a.p, a.logits, a.labels);
  c.tensor(a.loss, "loss", DType::F32, {});
  if (a.correct.storage) c.tensor(a.correct, "correct", DType::I32, {});
  Device d = c.same_device({&a.logits, &a.labels, &a.loss, opt(a.correct)});
  enqueue(c, d, &cpu::cross_entropy_forward, SENET_CUDA_FN(cross_entropy_forward), a);
}

void cross_entropy_backward(const CrossEntropyBackward& a) {
  Check c("crossEntropyBackward");
  cross_entropy_check_inputs("crossEntropyBackward", a.p, a.logits, a.labels);
  c.tensor(a.dlogits, "dlogits", DType::F32, a.logits.shape);
  Device d = c.same_device({&a.logits, &a.labels, &a.dlogits});
  enqueue(c, d, &cpu::cross_entropy_backward, SENET_CUDA_FN(cross_entropy_backward), a);
}

void softmax(const Softmax& a) {
  Check c("softmax");
  c.tensor_rank(a.logits, "logits", DType::F32, 2);
  c.tensor(a.probabilities, "probabilities", DType::F32, a.logits.shape);
  Device d = c.same_device({&a.logits, &a.probabilities});
  enqueue(c, d, &cpu::softmax, SENET_CUDA_FN(softmax), a);
}

}  // namespace senet
