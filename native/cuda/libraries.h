// cuDNN and cuBLAS, opened with dlopen from the declared lists in dyn_cudnn.h / dyn_cublas.h.
// SENET_CUDNN_LIBRARY / SENET_CUBLAS_LIBRARY name the files; otherwise the usual search
// (LD_LIBRARY_PATH, the system's library paths) for the sonames below.
#pragma once

#include "core/cuda_probe.h"
#include "cuda/dyn_cublas.h"
#include "cuda/dyn_cudnn.h"

namespace senet::cuda {

using namespace senet::dyn;

struct CudnnApi {
#define SENET_DECLARE_MEMBER(ret, name, params) ret(*name) params = nullptr;
  SENET_CUDNN_FUNCTIONS(SENET_DECLARE_MEMBER)
};

struct CublasApi {
  SENET_CUBLAS_FUNCTIONS(SENET_DECLARE_MEMBER)
#undef SENET_DECLARE_MEMBER
};

/// Loaded once per process; nullptr when absent (the info says why). Never throws.
const CudnnApi* cudnn_api();
const CublasApi* cublas_api();
const CudaLibraryInfo& cudnn_info();
const CudaLibraryInfo& cublas_info();

/// The loaded API, or SENET_NO_CUDNN / SENET_NO_CUBLAS with the reason.
const CudnnApi& require_cudnn();
const CublasApi& require_cublas();

}  // namespace senet::cuda
