// Our declarations of the part of cuDNN 9 that senet calls, loaded at run time with dlopen so
// that the addon builds and loads where cuDNN is absent. Signatures and enum values are the
// public API's, from NVIDIA's cuDNN API reference (docs.nvidia.com/deeplearning/cudnn, "cudnn_graph"
// and "cudnn_ops" libraries, version 9); test/cuda/headers.test.ts compiles these against the
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

enum cudnnStatus_t : int { CUDNN_STATUS_SUCCESS = 0 };
enum cudnnDataType_t : int { CUDNN_DATA_FLOAT = 0 };
enum cudnnTensorFormat_t : int { CUDNN_TENSOR_NCHW = 0, CUDNN_TENSOR_NHWC = 1 };
enum cudnnPoolingMode_t : int {
  CUDNN_POOLING_MAX = 0,
  CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING = 1,
  CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING = 2,
  CUDNN_POOLING_MAX_DETERMINISTIC = 3,
};
enum cudnnNanPropagation_t : int { CUDNN_NOT_PROPAGATE_NAN = 0, CUDNN_PROPAGATE_NAN = 1 };

// X(return type, name, parameter list): the one list of cuDNN functions senet calls.
#define SENET_CUDNN_FUNCTIONS(X)                                                                 \
  X(size_t, cudnnGetVersion, (void))                                                             \
  X(cudnnStatus_t, cudnnGraphVersionCheck, (void))                                               \
  X(cudnnStatus_t, cudnnOpsVersionCheck, (void))                                                 \
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
     const cudnnTensorDescriptor_t dxDesc, void* dx))

// Every enum constant above, for the header check.
#define SENET_CUDNN_ENUM_VALUES(E)                                                               \
  E(CUDNN_STATUS_SUCCESS) E(CUDNN_DATA_FLOAT) E(CUDNN_TENSOR_NCHW) E(CUDNN_TENSOR_NHWC)          \
  E(CUDNN_POOLING_MAX) E(CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING)                            \
  E(CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING) E(CUDNN_POOLING_MAX_DETERMINISTIC)              \
  E(CUDNN_NOT_PROPAGATE_NAN) E(CUDNN_PROPAGATE_NAN)

// Our types and the real header's, paired for the check.
#define SENET_CUDNN_TYPES(T)                                                                     \
  T(cudnnContext) T(cudnnTensorStruct) T(cudnnPoolingStruct) T(cudnnStatus_t) T(cudnnDataType_t) \
  T(cudnnTensorFormat_t) T(cudnnPoolingMode_t) T(cudnnNanPropagation_t)

}  // namespace senet::dyn
