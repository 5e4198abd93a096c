// The JS-visible tensor handle: owns a senet::Tensor (or a view of one). dispose() releases an
// owning tensor at once (its memory is freed after the work already queued on it); the garbage
// collector's finaliser drops a forgotten one. Reads are asynchronous (data()) or blocking
// (toTypedArray()), both ordered after the work queued before them.
#pragma once

#include <napi.h>

#include "core/tensor.h"

namespace senet::addon {

class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  /// A new JS handle for t; a view does not own (or account for) its storage.
  static Napi::Object create(Napi::Env env, Tensor t, bool is_view);
  /// The wrapped tensor of v, or nullptr when v is not one of ours.
  static TensorWrap* unwrap(const Napi::Value& v);

  explicit TensorWrap(const Napi::CallbackInfo& info);
  // Runs inside the garbage collector (the addon is built with Node-API's GC-time finalisers):
  // it may only drop references and tell V8 the bytes are gone.
  ~TensorWrap() override;
  Tensor& tensor() { return tensor_; }

 private:
  void release(Napi::BasicEnv env);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value shape(const Napi::CallbackInfo& info);
  Napi::Value dtype(const Napi::CallbackInfo& info);
  Napi::Value device(const Napi::CallbackInfo& info);
  Napi::Value is_view(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  Napi::Value bytes(const Napi::CallbackInfo& info);
  Napi::Value to_typed_array(const Napi::CallbackInfo& info);
  Napi::Value data(const Napi::CallbackInfo& info);
  Napi::Value read_async(const Napi::CallbackInfo& info);
  Napi::Value set(const Napi::CallbackInfo& info);
  Napi::Value view(const Napi::CallbackInfo& info);

  // The class's methods and getters, called without node-addon-api's wrapper: that one unwraps
  // `this` before our code runs, and while a worker's environment is being torn down the unwrap
  // fails and its error, rethrown as a C++ exception where nothing catches it, aborted the
  // process (the module's experimental Node-API version gets napi_cannot_run_js, a status
  // node-addon-api built for version 8 does not expect).
  template <Napi::Value (TensorWrap::*M)(const Napi::CallbackInfo&)>
  static napi_value call(napi_env env, napi_callback_info info) noexcept;

  Tensor tensor_;
  bool is_view_ = false;
  int64_t external_bytes_ = 0;  // reported to V8 so that forgotten tensors still press the GC
};

/// The dtype a typed array holds, or false for an unsupported array type.
bool typed_array_dtype(const Napi::TypedArray& a, DType* out);

}  // namespace senet::addon
