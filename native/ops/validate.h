// Argument checks shared by every op entry point, so that each backend receives only tensors it
// can use. Messages read "<op>: <argument>: expected ..., received ...".
#pragma once

#include <initializer_list>
#include <string>

#include "core/error.h"
#include "core/tensor.h"

namespace senet {

class Check {
 public:
  explicit Check(const char* op) : op_(op) {}

  [[noreturn]] void fail(ErrorCode code, const std::string& message) const;

  /// Not disposed, and of the given dtype and exact shape.
  void tensor(const Tensor& t, const char* name, DType dtype, const Shape& shape) const;
  /// Not disposed, of the given dtype and rank; returns nothing, callers read the dims.
  void tensor_rank(const Tensor& t, const char* name, DType dtype, size_t rank) const;
  void usable(const Tensor& t, const char* name) const;
  void dtype(const Tensor& t, const char* name, DType dtype) const;
  void shape(const Tensor& t, const char* name, const Shape& shape) const;
  void positive(int64_t value, const char* name) const;
  void non_negative(int64_t value, const char* name) const;
  void finite(double value, const char* name) const;
  /// All tensors on one device; returns it.
  Device same_device(std::initializer_list<const Tensor*> tensors) const;
  /// Two tensors must not share memory where one is written while the other is read.
  void distinct(const Tensor& a, const char* a_name, const Tensor& b, const char* b_name) const;

 private:
  const char* op_;
};

}  // namespace senet
