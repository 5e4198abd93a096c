// JS values <-> plain C++ values for the glue. Every check here throws senet::Error, which
// `guarded` turns into a JS Error with the matching code.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/tensor.h"

namespace senet::addon {

/// Runs f; senet, N-API and standard exceptions become JS Errors with a `code` property.
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

template <class F>
Napi::Value guarded(const Napi::CallbackInfo& info, F&& f) {
  Napi::Env env = info.Env();
  try {
    return f();
  } catch (const Error& e) {
    throw to_js_error(env, e.code(), e.what());
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw to_js_error(env, ErrorCode::OutOfMemory, "host memory allocation failed");
  } catch (const std::exception& e) {
    throw to_js_error(env, ErrorCode::Internal, e.what());
  }
}

}  // namespace senet::addon
