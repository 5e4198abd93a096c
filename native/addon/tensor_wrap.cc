#include "addon/tensor_wrap.h"

#include <future>
#include <memory>

#include "addon/addon_data.h"
#include "addon/convert.h"
#include "ops/tensor_ops.h"

namespace senet::addon {

namespace {

// Tells V8 about bytes held outside its heap. The C call, not node-addon-api's wrapper: that one
// throws when the call fails, which happens while a worker's environment is being torn down
// (finalisers run then) and would abort the process from a destructor.
void adjust_external(napi_env env, int64_t change) {
  int64_t total = 0;
  napi_adjust_external_memory(env, change, &total);
}

// Marks objects made by this class so that unwrap() never mistakes another object for one.
const napi_type_tag kTensorTag = {0x5e4e7f2a9c1d4b3eULL, 0x8a61c0f3d2b74e19ULL};

// A typed array of t's dtype and element count, with a pointer to its bytes.
Napi::TypedArray new_array(Napi::Env env, const Tensor& t, void** bytes) {
  const size_t n = static_cast<size_t>(t.numel());
  switch (t.dtype) {
    case DType::F32: { auto a = Napi::Float32Array::New(env, n); *bytes = a.Data(); return a; }
    case DType::I64: { auto a = Napi::TypedArrayOf<int64_t>::New(env, n, napi_bigint64_array); *bytes = a.Data(); return a; }
    case DType::I32: { auto a = Napi::Int32Array::New(env, n); *bytes = a.Data(); return a; }
    case DType::U8: { auto a = Napi::Uint8Array::New(env, n); *bytes = a.Data(); return a; }
    // bfloat16 elements by their bits (JavaScript has no bf16 array); ops.cast gives floats.
    case DType::BF16: { auto a = Napi::Uint16Array::New(env, n); *bytes = a.Data(); return a; }
  }
  throw_error(ErrorCode::Internal, "toTypedArray: unknown dtype");
}

// A read in flight: created on the JavaScript thread, filled by an executor, settled back on the
// JavaScript thread through the environment's thread-safe function.
struct PendingRead {
  Napi::Promise::Deferred deferred;
  Napi::Reference<Napi::TypedArray> array;  // keeps the destination alive
  std::exception_ptr error;
};

void reject(Napi::Env env, const Napi::Promise::Deferred& deferred, std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    deferred.Reject(to_js_error(env, e.code(), e.what()).Value());
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    deferred.Reject(to_js_error(env, ErrorCode::Internal, e.what()).Value());
  } catch (...) {
    deferred.Reject(to_js_error(env, ErrorCode::Internal, "unknown error").Value());
  }
}

// Runs on the JavaScript thread. Nothing may escape it: a worker being terminated refuses
// N-API calls (they throw Napi::Error), and then the promise simply never settles.
void settle(Napi::Env env, Napi::Function, PendingRead* read) {
  if (env == nullptr) return;  // the environment is going away: its handles cannot be touched
  std::unique_ptr<PendingRead> r(read);
  try {
    AddonData& data = addon_data(env);
    if (--data.pending_reads == 0) data.completions.Unref(env);
    Napi::HandleScope scope(env);
    if (!r->error)
      r->deferred.Resolve(r->array.Value());
    else
      reject(env, r->deferred, r->error);
  } catch (...) {
  }
}

}  // namespace

template <Napi::Value (TensorWrap::*M)(const Napi::CallbackInfo&)>
napi_value TensorWrap::call(napi_env env, napi_callback_info cb) noexcept {
  try {
    Napi::CallbackInfo info(env, cb);
    void* self = nullptr;
    if (napi_unwrap(env, info.This(), &self) != napi_ok || self == nullptr) {
      napi_throw_type_error(env, "SENET_ARGUMENT", "a Tensor method was called on something that is not a Tensor");
      return nullptr;
    }
    return (static_cast<TensorWrap*>(self)->*M)(info);  // guarded: nothing escapes it
  } catch (...) {
    return nullptr;  // the environment is going away: nothing can reach JavaScript any more
  }
}

Napi::Function TensorWrap::define(Napi::Env env) {
  auto method = [](const char* name, napi_callback cb) {
    return Napi::ClassPropertyDescriptor<TensorWrap>(napi_property_descriptor{name, nullptr, cb, nullptr, nullptr, nullptr, napi_default, nullptr});
  };
  auto getter = [](const char* name, napi_callback cb) {
    return Napi::ClassPropertyDescriptor<TensorWrap>(napi_property_descriptor{name, nullptr, nullptr, cb, nullptr, nullptr, napi_default, nullptr});
  };
  return DefineClass(env, "Tensor",
                     {method("dispose", &call<&TensorWrap::dispose>),
                      getter("shape", &call<&TensorWrap::shape>),
                      getter("dtype", &call<&TensorWrap::dtype>),
                      getter("device", &call<&TensorWrap::device>),
                      getter("isView", &call<&TensorWrap::is_view>),
                      getter("disposed", &call<&TensorWrap::disposed>),
                      getter("bytes", &call<&TensorWrap::bytes>),
                      method("toTypedArray", &call<&TensorWrap::to_typed_array>),
                      method("data", &call<&TensorWrap::data>),
                      method("set", &call<&TensorWrap::set>),
                      method("view", &call<&TensorWrap::view>)});
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {
  // The C call: a failure (an environment going away) must not throw out of a constructor.
  napi_type_tag_object(info.Env(), info.This(), &kTensorTag);
}

TensorWrap::~TensorWrap() {
  // Dropping the reference frees the memory now when no queued op holds it, else when the last does.
  if (tensor_.storage && !is_view_ && tensor_.storage.use_count() > 1) tensor_.storage->mark_orphaned();
  tensor_.storage.reset();
  if (external_bytes_) adjust_external(Env(), -external_bytes_);
}

Napi::Object TensorWrap::create(Napi::Env env, Tensor t, bool is_view) {
  Napi::Object obj = addon_data(env).tensor_ctor.New({});
  TensorWrap* w = Napi::ObjectWrap<TensorWrap>::Unwrap(obj);
  w->tensor_ = std::move(t);
  w->is_view_ = is_view;
  if (!is_view && w->tensor_.storage) {
    // GPU bytes too: V8 then collects forgotten CUDA tensors under memory pressure as well.
    w->external_bytes_ = static_cast<int64_t>(w->tensor_.storage->bytes());
    adjust_external(env, w->external_bytes_);
  }
  return obj;
}

TensorWrap* TensorWrap::unwrap(const Napi::Value& v) {
  if (!v.IsObject()) return nullptr;
  Napi::Object o = v.As<Napi::Object>();
  if (!o.CheckTypeTag(&kTensorTag)) return nullptr;
  return Napi::ObjectWrap<TensorWrap>::Unwrap(o);
}

void TensorWrap::release(Napi::BasicEnv env) {
  if (tensor_.storage && !is_view_) release_storage(tensor_.storage);
  tensor_.storage.reset();
  if (external_bytes_) {
    adjust_external(env, -external_bytes_);
    external_bytes_ = 0;
  }
}

Napi::Value TensorWrap::dispose(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    release(info.Env());  // disposing twice is allowed and does nothing, as in tfjs
    return info.Env().Undefined();
  });
}

Napi::Value TensorWrap::shape(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Array a = Napi::Array::New(info.Env(), tensor_.shape.size());
    for (size_t i = 0; i < tensor_.shape.size(); ++i)
      a.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(tensor_.shape[i])));
    return a;
  });
}

Napi::Value TensorWrap::dtype(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return Napi::String::New(info.Env(), dtype_name(tensor_.dtype)); });
}

Napi::Value TensorWrap::device(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return Napi::String::New(info.Env(), device_name(tensor_.device())); });
}

Napi::Value TensorWrap::is_view(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return Napi::Boolean::New(info.Env(), is_view_); });
}

Napi::Value TensorWrap::disposed(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return Napi::Boolean::New(info.Env(), !tensor_.usable()); });
}

Napi::Value TensorWrap::bytes(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(tensor_.storage ? tensor_.nbytes() : 0));
  });
}

Napi::Value TensorWrap::to_typed_array(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Args args(info, "toTypedArray");
    if (!tensor_.usable()) args.fail(ErrorCode::Disposed, "the tensor has been disposed");
    void* dst = nullptr;
    Napi::TypedArray out = new_array(info.Env(), tensor_, &dst);
    // Blocking: waits for the work queued before this read (documented as such).
    std::promise<std::exception_ptr> done;
    std::future<std::exception_ptr> result = done.get_future();
    download(tensor_, dst, [&done](std::exception_ptr err) { done.set_value(err); });
    if (std::exception_ptr err = result.get()) std::rethrow_exception(err);
    return out;
  });
}

Napi::Value TensorWrap::data(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return read_async(info); });
}

Napi::Value TensorWrap::read_async(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  try {
    if (!tensor_.usable()) throw_error(ErrorCode::Disposed, "data: the tensor has been disposed");
    void* dst = nullptr;
    Napi::TypedArray out = new_array(env, tensor_, &dst);
    AddonData& d = addon_data(env);
    auto* read = new PendingRead{deferred, Napi::Persistent(out), nullptr};
    Napi::ThreadSafeFunction tsfn = d.completions;
    if (tsfn.Acquire() != napi_ok) {
      delete read;
      throw_error(ErrorCode::Internal, "data: the environment is shutting down");
    }
    if (d.pending_reads++ == 0) d.completions.Ref(env);
    try {
      download(tensor_, dst, [tsfn, read](std::exception_ptr err) mutable {
        read->error = err;
        tsfn.NonBlockingCall(read, settle);  // fails only when the environment is gone
        tsfn.Release();
      });
    } catch (...) {
      if (--d.pending_reads == 0) d.completions.Unref(env);
      tsfn.Release();
      delete read;
      throw;
    }
  } catch (const Error& e) {
    deferred.Reject(to_js_error(env, e.code(), e.what()).Value());
  }
  // (A Napi::Error, from an environment being terminated, is rethrown by node-addon-api's wrapper.)
  return deferred.Promise();
}

bool typed_array_dtype(const Napi::TypedArray& a, DType* out) {
  switch (a.TypedArrayType()) {
    case napi_float32_array: *out = DType::F32; return true;
    case napi_bigint64_array: *out = DType::I64; return true;
    case napi_int32_array: *out = DType::I32; return true;
    case napi_uint8_array: *out = DType::U8; return true;
    case napi_uint16_array: *out = DType::BF16; return true;
    default: return false;
  }
}

Napi::Value TensorWrap::set(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Args args(info, "set");
    if (!tensor_.usable()) args.fail(ErrorCode::Disposed, "the tensor has been disposed");
    if (info.Length() < 1 || !info[0].IsTypedArray())
      args.fail(ErrorCode::Argument, "data: expected a typed array, received " +
                                         describe(info.Length() ? info[0] : info.Env().Undefined()));
    Napi::TypedArray a = info[0].As<Napi::TypedArray>();
    DType dt;
    if (!typed_array_dtype(a, &dt) || dt != tensor_.dtype)
      args.fail(ErrorCode::DType, std::string("data: expected a typed array of ") + dtype_name(tensor_.dtype) +
                                      " for this tensor, received another kind");
    if (static_cast<int64_t>(a.ElementLength()) != tensor_.numel())
      args.fail(ErrorCode::Shape, "data: expected " + std::to_string(tensor_.numel()) + " elements, received " +
                                      std::to_string(a.ElementLength()));
    // Copied off the JavaScript heap now, written in stream order (ops queued before still read
    // the old contents).
    const char* src = static_cast<const char*>(a.ArrayBuffer().Data()) + a.ByteOffset();
    upload(tensor_, std::vector<char>(src, src + a.ByteLength()));
    return info.Env().Undefined();
  });
}

Napi::Value TensorWrap::view(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Args args(info, "view");
    if (!tensor_.usable()) args.fail(ErrorCode::Disposed, "the tensor has been disposed");
    double offset = args.number(0, "offset");
    if (!(offset >= 0 && offset <= 9007199254740991.0 && offset == static_cast<double>(static_cast<int64_t>(offset))))
      args.fail(ErrorCode::Argument, "offset: expected an integer >= 0, received " + describe(info[0]));
    Shape shape = args.shape(1, "shape");
    return create(info.Env(), senet::view(tensor_, static_cast<int64_t>(offset), shape), true);
  });
}

}  // namespace senet::addon
