#include "addon/convert.h"

#include <cmath>
#include <cstdio>


namespace senet::addon {

Napi::Error to_js_error(Napi::Env env, ErrorCode code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, error_code_name(code)));
  return err;
}

void throw_js(Napi::Env env, ErrorCode code, const std::string& message) {
  Napi::Error err = to_js_error(env, code, message);
  napi_throw(env, err.Value());
}

std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsNumber()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v.As<Napi::Number>().DoubleValue());
    return std::string("the number ") + buf;
  }
  if (v.IsBoolean()) return "a boolean";
  if (v.IsString()) return "a string";
  if (v.IsBigInt()) return "a bigint";
  if (v.IsArray()) return "an array";
  if (v.IsTypedArray()) return "a typed array";
  if (v.IsFunction()) return "a function";
  return "an object";
}

void Args::fail(ErrorCode code, const std::string& message) const {
  throw_error(code, std::string(op_) + ": " + message);
}

Napi::Value Args::at(size_t i) const { return i < info_.Length() ? info_[i] : info_.Env().Undefined(); }

double Args::number(size_t i, const char* name) const {
  Napi::Value v = at(i);
  if (!v.IsNumber()) fail(ErrorCode::Argument, std::string(name) + ": expected a number, received " + describe(v));
  return v.As<Napi::Number>().DoubleValue();
}

uint64_t Args::seed(size_t i, const char* name) const {
  Napi::Value v = at(i);
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t s = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) fail(ErrorCode::Argument, std::string(name) + ": expected a bigint in [0, 2^64)");
    return s;
  }
  double d = number(i, name);
  if (!(d >= 0 && d <= 9007199254740991.0 && std::floor(d) == d))
    fail(ErrorCode::Argument, std::string(name) + ": expected an integer in [0, 2^53), received " + describe(v));
  return static_cast<uint64_t>(d);
}

Shape Args::shape(size_t i, const char* name) const {
  Napi::Value v = at(i);
  if (!v.IsArray()) fail(ErrorCode::Argument, std::string(name) + ": expected an array of sizes, received " + describe(v));
  Napi::Array a = v.As<Napi::Array>();
  Shape s;
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value d = a.Get(k);
    double x = d.IsNumber() ? d.As<Napi::Number>().DoubleValue() : -1.0;
    if (!d.IsNumber() || !(x >= 0 && x <= 9007199254740991.0 && std::floor(x) == x))
      fail(ErrorCode::Shape, std::string(name) + ": expected integer sizes >= 0, received " + describe(d) +
                                 " at index " + std::to_string(k));
    s.push_back(static_cast<int64_t>(x));
  }
  return s;
}

std::optional<DType> dtype_named(const Napi::Value& v) {
  const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  for (DType d : {DType::F32, DType::BF16, DType::I64, DType::I32, DType::U8})
    if (s == dtype_name(d)) return d;
  return std::nullopt;
}

std::string dtype_mismatch(const Napi::Value& v) {
  return "expected 'float32', 'bfloat16', 'int64', 'int32' or 'uint8', received " +
         (v.IsString() ? "'" + v.As<Napi::String>().Utf8Value() + "'" : describe(v));
}

DType Args::dtype(size_t i, const char* name) const {
  Napi::Value v = at(i);
  if (std::optional<DType> d = dtype_named(v)) return *d;
  fail(ErrorCode::DType, std::string(name) + ": " + dtype_mismatch(v));
}

Device Args::device(size_t i, const char* name) const {
  Napi::Value v = at(i);
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "cpu") return Device::Cpu;
  if (s == "cuda") return Device::Cuda;
  fail(ErrorCode::Device, std::string(name) + ": expected 'cpu' or 'cuda', received " +
                              (v.IsString() ? "'" + s + "'" : describe(v)));
}

}  // namespace senet::addon
