#include "ops/validate.h"

#include <cmath>

namespace senet {

void Check::fail(ErrorCode code, const std::string& message) const {
  throw_error(code, std::string(op_) + ": " + message);
}

void Check::usable(const Tensor& t, const char* name) const {
  if (!t.storage) fail(ErrorCode::Argument, std::string(name) + ": expected a tensor, received none");
  if (!t.usable()) fail(ErrorCode::Disposed, std::string(name) + ": the tensor has been disposed");
}

void Check::dtype(const Tensor& t, const char* name, DType dtype) const {
  if (t.dtype != dtype)
    fail(ErrorCode::DType, std::string(name) + ": expected dtype " + dtype_name(dtype) +
                               ", received " + dtype_name(t.dtype));
}

void Check::shape(const Tensor& t, const char* name, const Shape& shape) const {
  if (t.shape != shape)
    fail(ErrorCode::Shape, std::string(name) + ": expected shape " + shape_str(shape) +
                               ", received " + shape_str(t.shape));
}

void Check::tensor(const Tensor& t, const char* name, DType dtype, const Shape& shape) const {
  usable(t, name);
  this->dtype(t, name, dtype);
  this->shape(t, name, shape);
}

void Check::tensor_rank(const Tensor& t, const char* name, DType dtype, size_t rank) const {
  usable(t, name);
  this->dtype(t, name, dtype);
  if (t.rank() != rank)
    fail(ErrorCode::Shape, std::string(name) + ": expected rank " + std::to_string(rank) +
                               ", received shape " + shape_str(t.shape));
  for (int64_t d : t.shape)
    if (d <= 0)
      fail(ErrorCode::Shape, std::string(name) + ": expected every dimension > 0, received shape " +
                                 shape_str(t.shape));
}

void Check::positive(int64_t value, const char* name) const {
  if (value <= 0)
    fail(ErrorCode::Argument,
         std::string(name) + ": expected a positive integer, received " + std::to_string(value));
}

void Check::non_negative(int64_t value, const char* name) const {
  if (value < 0)
    fail(ErrorCode::Argument, std::string(name) + ": expected an integer >= 0, received " +
                                  std::to_string(value));
}

void Check::finite(double value, const char* name) const {
  if (!std::isfinite(value))
    fail(ErrorCode::Argument, std::string(name) + ": expected a finite number, received " +
                                  std::to_string(value));
}

Device Check::same_device(std::initializer_list<const Tensor*> tensors) const {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t) continue;
    if (!first) {
      first = t;
    } else if (t->device() != first->device()) {
      fail(ErrorCode::Device, std::string("expected all tensors on ") + device_name(first->device()) +
                                  ", received one on " + device_name(t->device()));
    }
  }
  return first ? first->device() : Device::Cpu;
}

void Check::distinct(const Tensor& a, const char* a_name, const Tensor& b,
                     const char* b_name) const {
  if (a.storage != b.storage) return;
  int64_t a0 = a.offset, a1 = a.offset + a.numel();
  int64_t b0 = b.offset, b1 = b.offset + b.numel();
  if (a0 < b1 && b0 < a1)
    fail(ErrorCode::Argument, std::string(a_name) + " and " + b_name +
                                  ": expected separate memory, received overlapping tensors");
}

}  // namespace senet
