// Our declarations of the part of cuDNN 9 that senet calls, loaded at run time with dlopen so
// that the addon builds and loads where cuDNN is absent. Signatures and enum values are the
// public API's, from NVIDIA's cuDNN API reference (docs.nvidia.com/deeplearning/cudnn, "cudnn_graph",
// "cudnn_ops" and "cudnn_cnn" libraries, version 9; the legacy convolution API is deprecated
// there but present throughout 9.x); test/cuda/headers.test.ts compiles these against the
// real headers where they exist and checks every function type and enum value.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

namespace senet::dyn {

struct cudnnContext;
using cudnnHandle_t = cudnnContext*;
struct cudnnTensorStruct;
using cudnnTensorDescriptor_t = cudnnTensorStruct*;
struct cudnnPoolingStruct;
using cudnnPoolingDescriptor_t = cudnnPoolingStruct*;
struct cudnnFilterStruct;
using cudnnFilterDescriptor_t = cudnnFilterStruct*;
struct cudnnConvolutionStruct;
using cudnnConvolutionDescriptor_t = cudnnConvolutionStruct*;

enum cudnnStatus_t : int { CUDNN_STATUS_SUCCESS = 0 };
enum cudnnDataType_t : int { CUDNN_DATA_FLOAT = 0, CUDNN_DATA_BFLOAT16 = 9 };
enum cudnnTensorFormat_t : int { CUDNN_TENSOR_NCHW = 0, CUDNN_TENSOR_NHWC = 1 };
enum cudnnPoolingMode_t : int {
  CUDNN_POOLING_MAX = 0,
  CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING = 1,
  CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING = 2,
  CUDNN_POOLING_MAX_DETERMINISTIC = 3,
};
enum cudnnNanPropagation_t : int { CUDNN_NOT_PROPAGATE_NAN = 0, CUDNN_PROPAGATE_NAN = 1 };
enum cudnnConvolutionMode_t : int { CUDNN_CONVOLUTION = 0, CUDNN_CROSS_CORRELATION = 1 };
enum cudnnMathType_t : int {
  CUDNN_DEFAULT_MATH = 0,
  CUDNN_TENSOR_OP_MATH = 1,
  CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION = 2,
  CUDNN_FMA_MATH = 3,
};
enum cudnnDeterminism_t : int { CUDNN_NON_DETERMINISTIC = 0, CUDNN_DETERMINISTIC = 1 };
// The algorithms, in cuDNN's order (their names are reported by senet bench --breakdown).
enum cudnnConvolutionFwdAlgo_t : int {
  CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM = 0,
  CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM = 1,
  CUDNN_CONVOLUTION_FWD_ALGO_GEMM = 2,
  CUDNN_CONVOLUTION_FWD_ALGO_DIRECT = 3,
  CUDNN_CONVOLUTION_FWD_ALGO_FFT = 4,
  CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING = 5,
  CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD = 6,
  CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED = 7,
  CUDNN_CONVOLUTION_FWD_ALGO_COUNT = 8,
};
enum cudnnConvolutionBwdDataAlgo_t : int {
  CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 = 0,
  CUDNN_CONVOLUTION_BWD_DATA_ALGO_1 = 1,
  CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT = 2,
  CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING = 3,
  CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD = 4,
  CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED = 5,
  CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT = 6,
};
enum cudnnConvolutionBwdFilterAlgo_t : int {
  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 = 0,
  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 = 1,
  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT = 2,
  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3 = 3,
  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD = 4,
  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED = 5,
  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING = 6,
  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT = 7,
};

// cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t: the same layout with each algorithm type.
template <class Algo>
struct AlgoPerf {
  Algo algo;
  cudnnStatus_t status;
  float time;
  size_t memory;
  cudnnDeterminism_t determinism;
  cudnnMathType_t mathType;
  int reserved[3];
};
using cudnnConvolutionFwdAlgoPerf_t = AlgoPerf<cudnnConvolutionFwdAlgo_t>;
using cudnnConvolutionBwdDataAlgoPerf_t = AlgoPerf<cudnnConvolutionBwdDataAlgo_t>;
using cudnnConvolutionBwdFilterAlgoPerf_t = AlgoPerf<cudnnConvolutionBwdFilterAlgo_t>;

// X(return type, name, parameter list): the one list of cuDNN functions senet calls.
#define SENET_CUDNN_FUNCTIONS(X)                                                                 \
  X(size_t, cudnnGetVersion, (void))                                                             \
  X(cudnnStatus_t, cudnnGraphVersionCheck, (void))                                               \
  X(cudnnStatus_t, cudnnOpsVersionCheck, (void))                                                 \
  X(cudnnStatus_t, cudnnCnnVersionCheck, (void))                                                 \
  X(const char*, cudnnGetErrorString, (cudnnStatus_t status))                                    \
  X(cudnnStatus_t, cudnnCreate, (cudnnHandle_t * handle))                                        \
  X(cudnnStatus_t, cudnnDestroy, (cudnnHandle_t handle))                                         \
  X(cudnnStatus_t, cudnnSetStream, (cudnnHandle_t handle, cudaStream_t streamId))                \
  X(cudnnStatus_t, cudnnCreateTensorDescriptor, (cudnnTensorDescriptor_t * tensorDesc))          \
  X(cudnnStatus_t, cudnnDestroyTensorDescriptor, (cudnnTensorDescriptor_t tensorDesc))           \
  X(cudnnStatus_t, cudnnSetTensor4dDescriptor,                                                   \
    (cudnnTensorDescriptor_t tensorDesc, cudnnTensorFormat_t format, cudnnDataType_t dataType,   \
     int n, int c, int h, int w))                                                                \
  X(cudnnStatus_t, cudnnCreatePoolingDescriptor, (cudnnPoolingDescriptor_t * poolingDesc))       \
  X(cudnnStatus_t, cudnnDestroyPoolingDescriptor, (cudnnPoolingDescriptor_t poolingDesc))        \
  X(cudnnStatus_t, cudnnSetPooling2dDescriptor,                                                  \
    (cudnnPoolingDescriptor_t poolingDesc, cudnnPoolingMode_t mode,                              \
     cudnnNanPropagation_t maxpoolingNanOpt, int windowHeight, int windowWidth,                  \
     int verticalPadding, int horizontalPadding, int verticalStride, int horizontalStride))      \
  X(cudnnStatus_t, cudnnPoolingForward,                                                          \
    (cudnnHandle_t handle, const cudnnPoolingDescriptor_t poolingDesc, const void* alpha,        \
     const cudnnTensorDescriptor_t xDesc, const void* x, const void* beta,                       \
     const cudnnTensorDescriptor_t yDesc, void* y))                                              \
  X(cudnnStatus_t, cudnnPoolingBackward,                                                         \
    (cudnnHandle_t handle, const cudnnPoolingDescriptor_t poolingDesc, const void* alpha,        \
     const cudnnTensorDescriptor_t yDesc, const void* y, const cudnnTensorDescriptor_t dyDesc,   \
     const void* dy, const cudnnTensorDescriptor_t xDesc, const void* x, const void* beta,       \
     const cudnnTensorDescriptor_t dxDesc, void* dx))                                             \
  X(cudnnStatus_t, cudnnCreateFilterDescriptor, (cudnnFilterDescriptor_t * filterDesc))          \
  X(cudnnStatus_t, cudnnDestroyFilterDescriptor, (cudnnFilterDescriptor_t filterDesc))           \
  X(cudnnStatus_t, cudnnSetFilter4dDescriptor,                                                   \
    (cudnnFilterDescriptor_t filterDesc, cudnnDataType_t dataType, cudnnTensorFormat_t format,   \
     int k, int c, int h, int w))                                                                \
  X(cudnnStatus_t, cudnnCreateConvolutionDescriptor, (cudnnConvolutionDescriptor_t * convDesc))  \
  X(cudnnStatus_t, cudnnDestroyConvolutionDescriptor, (cudnnConvolutionDescriptor_t convDesc))   \
  X(cudnnStatus_t, cudnnSetConvolution2dDescriptor,                                              \
    (cudnnConvolutionDescriptor_t convDesc, int pad_h, int pad_w, int u, int v, int dilation_h,  \
     int dilation_w, cudnnConvolutionMode_t mode, cudnnDataType_t computeType))                  \
  X(cudnnStatus_t, cudnnSetConvolutionGroupCount,                                                \
    (cudnnConvolutionDescriptor_t convDesc, int groupCount))                                     \
  X(cudnnStatus_t, cudnnSetConvolutionMathType,                                                  \
    (cudnnConvolutionDescriptor_t convDesc, cudnnMathType_t mathType))                           \
  X(cudnnStatus_t, cudnnGetConvolutionForwardAlgorithm_v7,                                       \
    (cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,                                \
     const cudnnFilterDescriptor_t filterDesc, const cudnnConvolutionDescriptor_t convDesc,      \
     const cudnnTensorDescriptor_t destDesc, const int requestedAlgoCount,                       \
     int* returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t* perfResults))                        \
  X(cudnnStatus_t, cudnnGetConvolutionForwardWorkspaceSize,                                      \
    (cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,                                  \
     const cudnnFilterDescriptor_t wDesc, const cudnnConvolutionDescriptor_t convDesc,           \
     const cudnnTensorDescriptor_t yDesc, cudnnConvolutionFwdAlgo_t algo, size_t* sizeInBytes))  \
  X(cudnnStatus_t, cudnnConvolutionForward,                                                      \
    (cudnnHandle_t handle, const void* alpha, const cudnnTensorDescriptor_t xDesc,               \
     const void* x, const cudnnFilterDescriptor_t wDesc, const void* w,                          \
     const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo,                \
     void* workSpace, size_t workSpaceSizeInBytes, const void* beta,                             \
     const cudnnTensorDescriptor_t yDesc, void* y))                                              \
  X(cudnnStatus_t, cudnnGetConvolutionBackwardDataAlgorithm_v7,                                  \
    (cudnnHandle_t handle, const cudnnFilterDescriptor_t filterDesc,                             \
     const cudnnTensorDescriptor_t diffDesc, const cudnnConvolutionDescriptor_t convDesc,        \
     const cudnnTensorDescriptor_t gradDesc, const int requestedAlgoCount,                       \
     int* returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t* perfResults))                    \
  X(cudnnStatus_t, cudnnGetConvolutionBackwardDataWorkspaceSize,                                 \
    (cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,                                  \
     const cudnnTensorDescriptor_t dyDesc, const cudnnConvolutionDescriptor_t convDesc,          \
     const cudnnTensorDescriptor_t dxDesc, cudnnConvolutionBwdDataAlgo_t algo,                   \
     size_t* sizeInBytes))                                                                       \
  X(cudnnStatus_t, cudnnConvolutionBackwardData,                                                 \
    (cudnnHandle_t handle, const void* alpha, const cudnnFilterDescriptor_t wDesc,               \
     const void* w, const cudnnTensorDescriptor_t dyDesc, const void* dy,                        \
     const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionBwdDataAlgo_t algo,            \
     void* workSpace, size_t workSpaceSizeInBytes, const void* beta,                             \
     const cudnnTensorDescriptor_t dxDesc, void* dx))                                            \
  X(cudnnStatus_t, cudnnGetConvolutionBackwardFilterAlgorithm_v7,                                \
    (cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,                                \
     const cudnnTensorDescriptor_t diffDesc, const cudnnConvolutionDescriptor_t convDesc,        \
     const cudnnFilterDescriptor_t gradDesc, const int requestedAlgoCount,                       \
     int* returnedAlgoCount, cudnnConvolutionBwdFilterAlgoPerf_t* perfResults))                  \
  X(cudnnStatus_t, cudnnGetConvolutionBackwardFilterWorkspaceSize,                               \
    (cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,                                  \
     const cudnnTensorDescriptor_t dyDesc, const cudnnConvolutionDescriptor_t convDesc,          \
     const cudnnFilterDescriptor_t gradDesc, cudnnConvolutionBwdFilterAlgo_t algo,               \
     size_t* sizeInBytes))                                                                       \
  X(cudnnStatus_t, cudnnConvolutionBackwardFilter,                                               \
    (cudnnHandle_t handle, const void* alpha, const cudnnTensorDescriptor_t xDesc,               \
     const void* x, const cudnnTensorDescriptor_t dyDesc, const void* dy,                        \
     const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionBwdFilterAlgo_t algo,          \
     void* workSpace, size_t workSpaceSizeInBytes, const void* beta,                             \
     const cudnnFilterDescriptor_t dwDesc, void* dw))                                            \
  X(cudnnStatus_t, cudnnFindConvolutionForwardAlgorithmEx,                                       \
    (cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const void* x,                   \
     const cudnnFilterDescriptor_t wDesc, const void* w, const cudnnConvolutionDescriptor_t convDesc, \
     const cudnnTensorDescriptor_t yDesc, void* y, const int requestedAlgoCount,                 \
     int* returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t* perfResults, void* workSpace,        \
     size_t workSpaceSizeInBytes))                                                               \
  X(cudnnStatus_t, cudnnFindConvolutionBackwardDataAlgorithmEx,                                  \
    (cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc, const void* w,                   \
     const cudnnTensorDescriptor_t dyDesc, const void* dy, const cudnnConvolutionDescriptor_t convDesc, \
     const cudnnTensorDescriptor_t dxDesc, void* dx, const int requestedAlgoCount,               \
     int* returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t* perfResults, void* workSpace,    \
     size_t workSpaceSizeInBytes))                                                               \
  X(cudnnStatus_t, cudnnFindConvolutionBackwardFilterAlgorithmEx,                                \
    (cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const void* x,                   \
     const cudnnTensorDescriptor_t dyDesc, const void* y, const cudnnConvolutionDescriptor_t convDesc, \
     const cudnnFilterDescriptor_t dwDesc, void* dw, const int requestedAlgoCount,               \
     int* returnedAlgoCount, cudnnConvolutionBwdFilterAlgoPerf_t* perfResults, void* workSpace,  \
     size_t workSpaceSizeInBytes))

// Every enum constant above, for the header check.
#define SENET_CUDNN_ENUM_VALUES(E)                                                               \
  E(CUDNN_STATUS_SUCCESS) E(CUDNN_DATA_FLOAT) E(CUDNN_TENSOR_NCHW) E(CUDNN_TENSOR_NHWC)          \
  E(CUDNN_POOLING_MAX) E(CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING)                            \
  E(CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING) E(CUDNN_POOLING_MAX_DETERMINISTIC)              \
  E(CUDNN_NOT_PROPAGATE_NAN) E(CUDNN_PROPAGATE_NAN) E(CUDNN_CONVOLUTION) E(CUDNN_CROSS_CORRELATION)   \
  E(CUDNN_DEFAULT_MATH) E(CUDNN_TENSOR_OP_MATH) E(CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)          \
  E(CUDNN_FMA_MATH) E(CUDNN_NON_DETERMINISTIC) E(CUDNN_DETERMINISTIC)                            \
  E(CUDNN_DATA_BFLOAT16) E(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM)                            \
  E(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM) E(CUDNN_CONVOLUTION_FWD_ALGO_GEMM)          \
  E(CUDNN_CONVOLUTION_FWD_ALGO_DIRECT) E(CUDNN_CONVOLUTION_FWD_ALGO_FFT)                          \
  E(CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING) E(CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD)                \
  E(CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED) E(CUDNN_CONVOLUTION_BWD_DATA_ALGO_0)           \
  E(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1) E(CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT)                    \
  E(CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING) E(CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD)      \
  E(CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED) E(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0)     \
  E(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1) E(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT)                \
  E(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3) E(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD)            \
  E(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED)                                         \
  E(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING)                                                \
  E(CUDNN_CONVOLUTION_FWD_ALGO_COUNT) E(CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT)                    \
  E(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT)

// Our types and the real header's, paired for the check.
#define SENET_CUDNN_TYPES(T)                                                                     \
  T(cudnnContext) T(cudnnTensorStruct) T(cudnnPoolingStruct) T(cudnnStatus_t) T(cudnnDataType_t) \
  T(cudnnTensorFormat_t) T(cudnnPoolingMode_t) T(cudnnNanPropagation_t) T(cudnnFilterStruct)     \
  T(cudnnConvolutionStruct) T(cudnnConvolutionMode_t) T(cudnnMathType_t) T(cudnnDeterminism_t)   \
  T(cudnnConvolutionFwdAlgo_t) T(cudnnConvolutionBwdDataAlgo_t) T(cudnnConvolutionBwdFilterAlgo_t) \
  T(cudnnConvolutionFwdAlgoPerf_t) T(cudnnConvolutionBwdDataAlgoPerf_t)                          \
  T(cudnnConvolutionBwdFilterAlgoPerf_t)

// The perf structs are filled in by cuDNN: their layout is checked field by field.
#define SENET_CUDNN_STRUCTS(S)                                                                   \
  S(cudnnConvolutionFwdAlgoPerf_t) S(cudnnConvolutionBwdDataAlgoPerf_t)                          \
  S(cudnnConvolutionBwdFilterAlgoPerf_t)

}  // namespace senet::dyn
