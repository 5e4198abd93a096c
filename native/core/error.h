// Typed errors: every failure a user can cause, or a library can report, is a senet::Error with a
// stable code; the N-API glue turns it into a JS Error carrying that code. Nothing aborts.
#pragma once

#include <exception>
#include <string>

namespace senet {

enum class ErrorCode {
  Argument,     // SENET_ARGUMENT: a value of the wrong kind or out of range
  Shape,        // SENET_SHAPE: wrong rank, or shapes that do not agree
  DType,        // SENET_DTYPE: wrong element type
  Disposed,     // SENET_DISPOSED: a tensor used after dispose()
  Device,       // SENET_DEVICE: tensors on different devices, or a device not built / present
  OutOfMemory,  // SENET_OOM: host allocation failed
  CudaOom,      // SENET_CUDA_OOM: device allocation failed (message names requested / free / total)
  NoCuda,       // SENET_NO_CUDA: no driver, no device, or driver too old
  NoCudnn,      // SENET_NO_CUDNN: libcudnn could not be loaded
  NoCublas,     // SENET_NO_CUBLAS: libcublas could not be loaded
  Library,      // SENET_LIBRARY: oneDNN / CUDA / cuDNN / cuBLAS reported a failure
  Unsupported,  // SENET_UNSUPPORTED: a precision this device or build does not have (bf16 without a bf16 ISA)
  Internal,     // SENET_INTERNAL: a bug in senet
};

/// The stable string form of a code, e.g. "SENET_SHAPE".
const char* error_code_name(ErrorCode code);

class Error : public std::exception {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  ErrorCode code() const noexcept { return code_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  ErrorCode code_;
  std::string message_;
};

[[noreturn]] void throw_error(ErrorCode code, const std::string& message);

/// A library call failed: names the call as written, where it was made, and the library's words.
[[noreturn]] void throw_library_error(ErrorCode code, const char* library, const char* call,
                                      const char* file, int line, const std::string& detail);

}  // namespace senet
