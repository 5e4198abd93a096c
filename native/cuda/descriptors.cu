// RAII owners of cuDNN descriptors: each is created and set in its constructor (destroyed again
// if setting it fails) and destroyed in its destructor.
#include "cuda/descriptors.h"

namespace senet::cuda {

TensorDescriptor::TensorDescriptor(int64_t n, int64_t c, int64_t h, int64_t w) : api_(require_cudnn()) {
  const int ni = to_int(n, "tensor descriptor: N"), ci = to_int(c, "tensor descriptor: C");
  const int hi = to_int(h, "tensor descriptor: H"), wi = to_int(w, "tensor descriptor: W");
  SENET_CUDNN_CHECK(api_.cudnnCreateTensorDescriptor(&desc_));
  dyn::cudnnStatus_t st = api_.cudnnSetTensor4dDescriptor(desc_, dyn::CUDNN_TENSOR_NHWC, dyn::CUDNN_DATA_FLOAT, ni, ci, hi, wi);
  if (st != dyn::CUDNN_STATUS_SUCCESS) {
    api_.cudnnDestroyTensorDescriptor(desc_);
    throw_cudnn_error(st, "cudnnSetTensor4dDescriptor", __FILE__, __LINE__);
  }
}

TensorDescriptor::~TensorDescriptor() { api_.cudnnDestroyTensorDescriptor(desc_); }

PoolingDescriptor::PoolingDescriptor(dyn::cudnnPoolingMode_t mode, int kh, int kw, int ph, int pw, int sh, int sw)
    : api_(require_cudnn()) {
  SENET_CUDNN_CHECK(api_.cudnnCreatePoolingDescriptor(&desc_));
  dyn::cudnnStatus_t st = api_.cudnnSetPooling2dDescriptor(desc_, mode, dyn::CUDNN_PROPAGATE_NAN, kh, kw, ph, pw, sh, sw);
  if (st != dyn::CUDNN_STATUS_SUCCESS) {
    api_.cudnnDestroyPoolingDescriptor(desc_);
    throw_cudnn_error(st, "cudnnSetPooling2dDescriptor", __FILE__, __LINE__);
  }
}

PoolingDescriptor::~PoolingDescriptor() { api_.cudnnDestroyPoolingDescriptor(desc_); }

FilterDescriptor::FilterDescriptor(int64_t k, int64_t c, int64_t h, int64_t w) : api_(require_cudnn()) {
  const int ki = to_int(k, "filter descriptor: K"), ci = to_int(c, "filter descriptor: C");
  SENET_CUDNN_CHECK(api_.cudnnCreateFilterDescriptor(&desc_));
  // NHWC filters are (K, R, S, C): senet's (Cout, kH, kW, Cin / groups) as it is.
  dyn::cudnnStatus_t st = api_.cudnnSetFilter4dDescriptor(desc_, dyn::CUDNN_DATA_FLOAT, dyn::CUDNN_TENSOR_NHWC, ki, ci,
                                                          static_cast<int>(h), static_cast<int>(w));
  if (st != dyn::CUDNN_STATUS_SUCCESS) {
    api_.cudnnDestroyFilterDescriptor(desc_);
    throw_cudnn_error(st, "cudnnSetFilter4dDescriptor", __FILE__, __LINE__);
  }
}

FilterDescriptor::~FilterDescriptor() { api_.cudnnDestroyFilterDescriptor(desc_); }

ConvolutionDescriptor::ConvolutionDescriptor(int pad_h, int pad_w, int stride_h, int stride_w, int groups, bool tf32)
    : api_(require_cudnn()) {
  SENET_CUDNN_CHECK(api_.cudnnCreateConvolutionDescriptor(&desc_));
  dyn::cudnnStatus_t st = api_.cudnnSetConvolution2dDescriptor(desc_, pad_h, pad_w, stride_h, stride_w, 1, 1,
                                                               dyn::CUDNN_CROSS_CORRELATION, dyn::CUDNN_DATA_FLOAT);
  if (st == dyn::CUDNN_STATUS_SUCCESS) st = api_.cudnnSetConvolutionGroupCount(desc_, groups);
  // Plain float32 fused multiply-adds unless TF32 is asked for: then results match the CPU backend
  // and PyTorch's float32 only to TF32's 10-bit mantissa.
  if (st == dyn::CUDNN_STATUS_SUCCESS)
    st = api_.cudnnSetConvolutionMathType(desc_, tf32 ? dyn::CUDNN_DEFAULT_MATH : dyn::CUDNN_FMA_MATH);
  if (st != dyn::CUDNN_STATUS_SUCCESS) {
    api_.cudnnDestroyConvolutionDescriptor(desc_);
    throw_cudnn_error(st, "cudnnSetConvolution2dDescriptor / GroupCount / MathType", __FILE__, __LINE__);
  }
}

ConvolutionDescriptor::~ConvolutionDescriptor() { api_.cudnnDestroyConvolutionDescriptor(desc_); }

}  // namespace senet::cuda
