// One op call from JavaScript: its single argument is an object whose fields name the tensors
// (x, w, dy ...) and a `params` object, so that no two tensors can be swapped by position.
// Outputs follow one rule: a Tensor is written into, null means "not wanted", and a field left
// undefined is allocated when the op makes that output by default. The result lists every output.
#pragma once

#include <napi.h>

#include <initializer_list>
#include <optional>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"

namespace senet::addon {

class OpCall {
 public:
  OpCall(const Napi::CallbackInfo& info, const char* op);
  const char* op() const { return op_; }
  [[noreturn]] void fail(ErrorCode code, const std::string& message) const;

  /// A required tensor field.
  Tensor in(const char* name) const;
  /// An optional tensor field: null or undefined give a tensor without storage.
  Tensor optional(const char* name) const;
  /// A field holding an array of tensors.
  std::vector<Tensor> list(const char* name) const;
  /// The `params` object (an empty one when absent).
  Napi::Object params() const;
  /// True when one of these output fields is undefined (to be allocated).
  bool any_undefined(std::initializer_list<const char*> names) const;
  /// Reads output field `name` into slot, allocating it (on `device`) when undefined and
  /// `shape` is given; records it for result().
  void out(const char* name, Tensor& slot, const std::optional<Shape>& shape, Device device,
           DType dtype = DType::F32);
  /// { name: Tensor | null } for every out() field.
  Napi::Object result() const { return result_; }

  /// Fields of a params object; an absent field keeps `fallback`.
  int int_field(const Napi::Object& o, const char* field, int fallback) const;
  int64_t size_field(const Napi::Object& o, const char* field, int64_t fallback) const;
  float float_field(const Napi::Object& o, const char* field, float fallback) const;
  double number_field(const Napi::Object& o, const char* field, double fallback) const;
  bool bool_field(const Napi::Object& o, const char* field, bool fallback) const;
  DType dtype_field(const Napi::Object& o, const char* field, DType fallback) const;

 private:
  Napi::Env env_;
  Napi::Object args_;
  Napi::Object result_;
  const char* op_;
};

/// A new tensor; on a GPU allocation failure, runs JavaScript's garbage collector (finalisers
/// free forgotten tensors), trims the memory pool and tries once more before SENET_CUDA_OOM.
Tensor allocate(Napi::Env env, const Shape& shape, DType dtype, Device device);

}  // namespace senet::addon
