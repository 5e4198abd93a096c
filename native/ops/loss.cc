#include "ops/loss.h"

#include <cmath>

#include "ops/dispatch.h"

namespace senet {

namespace {

void check_inputs(const Check& c, const CrossEntropyParams& p, const Tensor& logits,
                  const Tensor& labels) {
  if (!(p.label_smoothing >= 0 && p.label_smoothing <= 1))
    c.fail(ErrorCode::Argument, "labelSmoothing: expected a number in [0, 1], received " +
                                    std::to_string(p.label_smoothing));
  c.tensor_rank(logits, "logits", DType::F32, 2);
  c.usable(labels, "labels");
  if (labels.dtype != DType::I64 && labels.dtype != DType::I32)
    c.fail(ErrorCode::DType,
           std::string("labels: expected dtype int64 or int32, received ") + dtype_name(labels.dtype));
  c.shape(labels, "labels", {logits.dim(0)});
}

}  // namespace

void cross_entropy_forward(const CrossEntropyParams& p, const Tensor& logits, const Tensor& labels,
                           Tensor& loss, Tensor* correct) {
  Check c("crossEntropyForward");
  check_inputs(c, p, logits, labels);
  c.tensor(loss, "loss", DType::F32, {});
  if (correct) c.tensor(*correct, "correct", DType::I32, {});
  Device d = c.same_device({&logits, &labels, &loss, correct});
  if (d == Device::Cpu) return cpu::cross_entropy_forward(p, logits, labels, loss, correct);
  SENET_ON_CUDA(d, cross_entropy_forward(p, logits, labels, loss, correct));
  unsupported_device(c, d);
}

void cross_entropy_backward(const CrossEntropyParams& p, const Tensor& logits,
                            const Tensor& labels, Tensor& dlogits) {
  Check c("crossEntropyBackward");
  check_inputs(c, p, logits, labels);
  c.tensor(dlogits, "dlogits", DType::F32, logits.shape);
  Device d = c.same_device({&logits, &labels, &dlogits});
  if (d == Device::Cpu) return cpu::cross_entropy_backward(p, logits, labels, dlogits);
  SENET_ON_CUDA(d, cross_entropy_backward(p, logits, labels, dlogits));
  unsupported_device(c, d);
}

}  // namespace senet
