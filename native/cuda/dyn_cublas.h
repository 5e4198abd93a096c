// Our declarations of the part of cuBLAS (12 and 13; the v2 API) that senet calls, loaded at run
// time with dlopen. Signatures and enum values are the public API's, from NVIDIA's cuBLAS
// documentation (docs.nvidia.com/cuda/cublas, "cuBLAS Helper Function Reference" and "cuBLAS
// Level-3 Function Reference"); test/cuda/headers.test.ts checks them against the real headers.
#pragma once

#include <cuda_runtime_api.h>
#include <library_types.h>

namespace senet::dyn {

struct cublasContext;
using cublasHandle_t = cublasContext*;

enum cublasStatus_t : int { CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_ALLOC_FAILED = 3 };
enum cublasOperation_t : int { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
enum cublasMath_t : int { CUBLAS_DEFAULT_MATH = 0, CUBLAS_PEDANTIC_MATH = 2, CUBLAS_TF32_TENSOR_OP_MATH = 3 };

// X(return type, name, parameter list): the one list of cuBLAS functions senet calls.
#define SENET_CUBLAS_FUNCTIONS(X)                                                                \
  X(cublasStatus_t, cublasGetProperty, (libraryPropertyType type, int* value))                   \
  X(const char*, cublasGetStatusString, (cublasStatus_t status))                                 \
  X(cublasStatus_t, cublasCreate_v2, (cublasHandle_t * handle))                                  \
  X(cublasStatus_t, cublasDestroy_v2, (cublasHandle_t handle))                                   \
  X(cublasStatus_t, cublasSetStream_v2, (cublasHandle_t handle, cudaStream_t streamId))          \
  X(cublasStatus_t, cublasSetMathMode, (cublasHandle_t handle, cublasMath_t mode))               \
  X(cublasStatus_t, cublasSgemm_v2,                                                              \
    (cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,    \
     int k, const float* alpha, const float* A, int lda, const float* B, int ldb,                \
     const float* beta, float* C, int ldc))

#define SENET_CUBLAS_ENUM_VALUES(E)                                                              \
  E(CUBLAS_STATUS_SUCCESS) E(CUBLAS_STATUS_ALLOC_FAILED) E(CUBLAS_OP_N) E(CUBLAS_OP_T)          \
  E(CUBLAS_DEFAULT_MATH) E(CUBLAS_PEDANTIC_MATH) E(CUBLAS_TF32_TENSOR_OP_MATH)

#define SENET_CUBLAS_TYPES(T) T(cublasContext) T(cublasStatus_t) T(cublasOperation_t) T(cublasMath_t)

}  // namespace senet::dyn
