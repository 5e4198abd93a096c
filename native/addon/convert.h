// JS values <-> plain C++ values for the glue. Every check here throws senet::Error, which
// `guarded` turns into a JS Error with the matching code.
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>

#include "core/error.h"
#include "core/tensor.h"

namespace senet::addon {

/// Runs f; senet, N-API and standard exceptions become JS Errors with a `code` property. Every
/// callback of the addon goes through it (a Napi::Error escaping while a worker is terminated
/// would abort the process).
template <class F>
Napi::Value guarded(const Napi::CallbackInfo& info, F&& f);

Napi::Error to_js_error(Napi::Env env, ErrorCode code, const std::string& message);

/// Reads a function's arguments with the function's name in each message.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* op) : info_(info), op_(op) {}
  const char* op() const { return op_; }
  [[noreturn]] void fail(ErrorCode code, const std::string& message) const;

  double number(size_t i, const char* name) const;
  uint64_t seed(size_t i, const char* name) const;
  Shape shape(size_t i, const char* name) const;
  DType dtype(size_t i, const char* name) const;
  Device device(size_t i, const char* name) const;

 private:
  Napi::Value at(size_t i) const;
  const Napi::CallbackInfo& info_;
  const char* op_;
};

/// "a number", "a string", "an object" ... for messages.
std::string describe(const Napi::Value& v);
/// The dtype a string names ('float32', 'bfloat16', 'int64', 'int32', 'uint8'), or nullopt.
std::optional<DType> dtype_named(const Napi::Value& v);
/// "expected 'float32', …, received …" for a value that names no dtype.
std::string dtype_mismatch(const Napi::Value& v);

/// Throws a JS Error with a code into the environment (without a C++ throw).
void throw_js(Napi::Env env, ErrorCode code, const std::string& message);

template <class F>
Napi::Value guarded(const Napi::CallbackInfo& info, F&& f) {
  Napi::Env env = info.Env();
  // Nothing leaves as a C++ exception: node-addon-api would turn it into a JS one, and where that
  // fails — a worker being terminated refuses every call, with a status its check does not expect
  // from a module of this Node-API version — it aborts the process.
  try {
    try {
      return f();
    } catch (const Error& e) {
      throw_js(env, e.code(), e.what());
    } catch (const Napi::Error& e) {
      napi_throw(env, e.Value());
    } catch (const std::bad_alloc&) {
      throw_js(env, ErrorCode::OutOfMemory, "host memory allocation failed");
    } catch (const std::exception& e) {
      throw_js(env, ErrorCode::Internal, e.what());
    }
  } catch (...) {
    // The environment could not even make the error: it is going away.
  }
  return Napi::Value();
}

}  // namespace senet::addon
