#include "core/error.h"

#include <cstring>

namespace senet {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::Argument: return "SENET_ARGUMENT";
    case ErrorCode::Shape: return "SENET_SHAPE";
    case ErrorCode::DType: return "SENET_DTYPE";
    case ErrorCode::Disposed: return "SENET_DISPOSED";
    case ErrorCode::Device: return "SENET_DEVICE";
    case ErrorCode::OutOfMemory: return "SENET_OOM";
    case ErrorCode::CudaOom: return "SENET_CUDA_OOM";
    case ErrorCode::NoCuda: return "SENET_NO_CUDA";
    case ErrorCode::NoCudnn: return "SENET_NO_CUDNN";
    case ErrorCode::NoCublas: return "SENET_NO_CUBLAS";
    case ErrorCode::Library: return "SENET_LIBRARY";
    case ErrorCode::Unsupported: return "SENET_UNSUPPORTED";
    case ErrorCode::Internal: return "SENET_INTERNAL";
  }
  return "SENET_INTERNAL";
}

void throw_error(ErrorCode code, const std::string& message) { throw Error(code, message); }

void throw_library_error(ErrorCode code, const char* library, const char* call, const char* file,
                         int line, const std::string& detail) {
  const char* base = std::strrchr(file, '/');
  std::string where = base ? base + 1 : file;
  throw Error(code, std::string(library) + " call " + call + " failed at " + where + ":" +
                        std::to_string(line) + ": " + detail);
}

}  // namespace senet
