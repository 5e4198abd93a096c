#include "addon/op_call.h"

#include <cmath>

#include "addon/addon_data.h"
#include "addon/convert.h"
#include "addon/tensor_wrap.h"
#include "core/device_memory.h"
#include "core/executor.h"

namespace senet::addon {

namespace {
constexpr int64_t kOrphanedLimit = int64_t{256} << 20;
}

OpCall::OpCall(const Napi::CallbackInfo& info, const char* op)
    : env_(info.Env()), result_(Napi::Object::New(info.Env())), op_(op) {
  Napi::Value v = info.Length() ? info[0] : env_.Undefined();
  if (!v.IsObject() || v.IsArray())
    fail(ErrorCode::Argument, std::string("arguments: expected one object of named arguments, received ") + describe(v));
  args_ = v.As<Napi::Object>();
}

void OpCall::fail(ErrorCode code, const std::string& message) const {
  throw_error(code, std::string(op_) + ": " + message);
}

Tensor OpCall::in(const char* name) const {
  Napi::Value v = args_.Get(name);
  TensorWrap* w = TensorWrap::unwrap(v);
  if (!w) fail(ErrorCode::Argument, std::string(name) + ": expected a Tensor, received " + describe(v));
  if (!w->tensor().usable()) fail(ErrorCode::Disposed, std::string(name) + ": the tensor has been disposed");
  return w->tensor();
}

Tensor OpCall::optional(const char* name) const {
  Napi::Value v = args_.Get(name);
  if (v.IsNull() || v.IsUndefined()) return Tensor{};
  return in(name);
}

std::vector<Tensor> OpCall::list(const char* name) const {
  Napi::Value v = args_.Get(name);
  if (!v.IsArray()) fail(ErrorCode::Argument, std::string(name) + ": expected an array of Tensors, received " + describe(v));
  Napi::Array a = v.As<Napi::Array>();
  std::vector<Tensor> out;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    TensorWrap* w = TensorWrap::unwrap(a.Get(i));
    const std::string item = std::string(name) + "[" + std::to_string(i) + "]";
    if (!w) fail(ErrorCode::Argument, item + ": expected a Tensor, received " + describe(a.Get(i)));
    if (!w->tensor().usable()) fail(ErrorCode::Disposed, item + ": the tensor has been disposed");
    out.push_back(w->tensor());
  }
  return out;
}

Napi::Object OpCall::params() const {
  Napi::Value v = args_.Get("params");
  if (v.IsUndefined()) return Napi::Object::New(env_);
  if (!v.IsObject() || v.IsArray()) fail(ErrorCode::Argument, "params: expected an object, received " + describe(v));
  return v.As<Napi::Object>();
}

bool OpCall::any_undefined(std::initializer_list<const char*> names) const {
  for (const char* name : names)
    if (args_.Get(name).IsUndefined()) return true;
  return false;
}

void OpCall::out(const char* name, Tensor& slot, const std::optional<Shape>& shape, Device device, DType dtype) {
  Napi::Value v = args_.Get(name);
  if (v.IsNull() || (v.IsUndefined() && !shape)) {
    slot = Tensor{};
    result_.Set(name, env_.Null());
    return;
  }
  if (v.IsUndefined()) {
    slot = allocate(env_, *shape, dtype, device);
    result_.Set(name, TensorWrap::create(env_, slot, false));
    return;
  }
  TensorWrap* w = TensorWrap::unwrap(v);
  if (!w) fail(ErrorCode::Argument, std::string(name) + ": expected a Tensor, null or undefined, received " + describe(v));
  if (!w->tensor().usable()) fail(ErrorCode::Disposed, std::string(name) + ": the tensor has been disposed");
  slot = w->tensor();
  result_.Set(name, v);
}

int OpCall::int_field(const Napi::Object& o, const char* field, int fallback) const {
  Napi::Value v = o.Get(field);
  if (v.IsUndefined()) return fallback;
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(std::floor(d) == d && std::fabs(d) < 2147483648.0))
    fail(ErrorCode::Argument, std::string(field) + ": expected an integer, received " + describe(v));
  return static_cast<int>(d);
}

int64_t OpCall::size_field(const Napi::Object& o, const char* field, int64_t fallback) const {
  Napi::Value v = o.Get(field);
  if (v.IsUndefined()) return fallback;
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(std::floor(d) == d && d >= 0 && d <= 9007199254740991.0))
    fail(ErrorCode::Argument, std::string(field) + ": expected an integer >= 0, received " + describe(v));
  return static_cast<int64_t>(d);
}

float OpCall::float_field(const Napi::Object& o, const char* field, float fallback) const {
  return static_cast<float>(number_field(o, field, fallback));
}

double OpCall::number_field(const Napi::Object& o, const char* field, double fallback) const {
  Napi::Value v = o.Get(field);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue()))
    fail(ErrorCode::Argument, std::string(field) + ": expected a finite number, received " + describe(v));
  return v.As<Napi::Number>().DoubleValue();
}

bool OpCall::bool_field(const Napi::Object& o, const char* field, bool fallback) const {
  Napi::Value v = o.Get(field);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) fail(ErrorCode::Argument, std::string(field) + ": expected a boolean, received " + describe(v));
  return v.As<Napi::Boolean>().Value();
}

DType OpCall::dtype_field(const Napi::Object& o, const char* field, DType fallback) const {
  Napi::Value v = o.Get(field);
  if (v.IsUndefined()) return fallback;
  if (std::optional<DType> d = dtype_named(v)) return *d;
  fail(ErrorCode::DType, std::string(field) + ": " + dtype_mismatch(v));
}

Tensor allocate(Napi::Env env, const Shape& shape, DType dtype, Device device) {
  // Memory only queued work holds (tensors disposed or forgotten faster than the device runs)
  // is bounded: past the limit, a new allocation first waits for the queue.
  if (orphaned_bytes(device) > kOrphanedLimit) Executor::of(device).drain();
  try {
    return empty(shape, dtype, device);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::CudaOom) throw;
  }
  // Tensors nobody disposed may still hold GPU memory until the collector finalises them.
  AddonData& data = addon_data(env);
  if (!data.collect_garbage.IsEmpty()) data.collect_garbage.Call({});
  device_trim();
  return empty(shape, dtype, device);
}

}  // namespace senet::addon
