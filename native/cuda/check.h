// Status checks for CUDA, cuDNN and cuBLAS calls: a failure throws senet::Error naming the call
// as written, the file and line, and the library's own message.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "core/error.h"
#include "cuda/dyn_cublas.h"
#include "cuda/dyn_cudnn.h"

namespace senet::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line);
[[noreturn]] void throw_cudnn_error(dyn::cudnnStatus_t status, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(dyn::cublasStatus_t status, const char* call, const char* file, int line);

/// A size for an API that takes int (cuBLAS, cuDNN's 4-d descriptors); SENET_SHAPE beyond 2^31 - 1.
inline int to_int(int64_t v, const char* what) {
  if (v > 2147483647) throw_error(ErrorCode::Shape, std::string(what) + ": " + std::to_string(v) +
                                                        " is more than the CUDA libraries accept (2^31 - 1)");
  return static_cast<int>(v);
}

}  // namespace senet::cuda

#define SENET_CUDA_CHECK(call)                                                   \
  do {                                                                           \
    cudaError_t senet_err_ = (call);                                             \
    if (senet_err_ != cudaSuccess)                                               \
      ::senet::cuda::throw_cuda_error(senet_err_, #call, __FILE__, __LINE__);    \
  } while (0)

#define SENET_CUDNN_CHECK(call)                                                  \
  do {                                                                           \
    ::senet::dyn::cudnnStatus_t senet_st_ = (call);                              \
    if (senet_st_ != ::senet::dyn::CUDNN_STATUS_SUCCESS)                         \
      ::senet::cuda::throw_cudnn_error(senet_st_, #call, __FILE__, __LINE__);    \
  } while (0)

#define SENET_CUBLAS_CHECK(call)                                                 \
  do {                                                                           \
    ::senet::dyn::cublasStatus_t senet_st_ = (call);                             \
    if (senet_st_ != ::senet::dyn::CUBLAS_STATUS_SUCCESS)                        \
      ::senet::cuda::throw_cublas_error(senet_st_, #call, __FILE__, __LINE__);   \
  } while (0)

// A kernel launch: checks the launch itself (not its completion, which would need a sync).
#define SENET_CUDA_LAUNCHED() SENET_CUDA_CHECK(cudaGetLastError())
