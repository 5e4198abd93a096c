// The descriptors senet builds: NHWC tensors and filters, grouped convolutions, pooling windows.
#include "cuda/descriptors.h"

namespace senet::cuda {

dyn::cudnnDataType_t cudnn_type(DType t) {
  if (t == DType::F32) return dyn::CUDNN_DATA_FLOAT;
  if (t == DType::BF16) return dyn::CUDNN_DATA_BFLOAT16;
  throw_error(ErrorCode::DType, std::string("cuDNN descriptor: no cuDNN type for ") + dtype_name(t));
}

TensorDescriptor nhwc_tensor(DType t, int64_t n, int64_t c, int64_t h, int64_t w) {
  const int ni = to_int(n, "tensor descriptor: N"), ci = to_int(c, "tensor descriptor: C");
  const int hi = to_int(h, "tensor descriptor: H"), wi = to_int(w, "tensor descriptor: W");
  const dyn::cudnnDataType_t type = cudnn_type(t);
  return TensorDescriptor("cudnnSetTensor4dDescriptor", [&](const CudnnApi& api, dyn::cudnnTensorDescriptor_t d) {
    return api.cudnnSetTensor4dDescriptor(d, dyn::CUDNN_TENSOR_NHWC, type, ni, ci, hi, wi);
  });
}

FilterDescriptor nhwc_filter(DType t, int64_t k, int64_t c, int64_t h, int64_t w) {
  const int ki = to_int(k, "filter descriptor: K"), ci = to_int(c, "filter descriptor: C");
  const dyn::cudnnDataType_t type = cudnn_type(t);
  // NHWC filters are (K, R, S, C): senet's (Cout, kH, kW, Cin / groups) as it is.
  return FilterDescriptor("cudnnSetFilter4dDescriptor", [&](const CudnnApi& api, dyn::cudnnFilterDescriptor_t d) {
    return api.cudnnSetFilter4dDescriptor(d, type, dyn::CUDNN_TENSOR_NHWC, ki, ci, static_cast<int>(h), static_cast<int>(w));
  });
}

dyn::cudnnMathType_t convolution_math(DType data, bool tf32) {
  // FMA math for float32 unless TF32 is asked for (then results match the CPU backend and
  // PyTorch's float32 only to TF32's 10-bit mantissa). bf16 wants tensor-op math; the compute
  // type stays float32 (cuDNN's bf16 configuration: bf16 data, float32 accumulation).
  return data == DType::BF16 ? dyn::CUDNN_TENSOR_OP_MATH : tf32 ? dyn::CUDNN_DEFAULT_MATH : dyn::CUDNN_FMA_MATH;
}

ConvolutionDescriptor convolution(int pad_h, int pad_w, int stride_h, int stride_w, int groups, DType data, bool tf32) {
  const dyn::cudnnMathType_t math = convolution_math(data, tf32);
  return ConvolutionDescriptor("cudnnSetConvolution2dDescriptor / GroupCount / MathType",
                               [&](const CudnnApi& api, dyn::cudnnConvolutionDescriptor_t d) {
                                 dyn::cudnnStatus_t st = api.cudnnSetConvolution2dDescriptor(
                                     d, pad_h, pad_w, stride_h, stride_w, 1, 1, dyn::CUDNN_CROSS_CORRELATION,
                                     dyn::CUDNN_DATA_FLOAT);
                                 if (st == dyn::CUDNN_STATUS_SUCCESS) st = api.cudnnSetConvolutionGroupCount(d, groups);
                                 if (st == dyn::CUDNN_STATUS_SUCCESS) st = api.cudnnSetConvolutionMathType(d, math);
                                 return st;
                               });
}

PoolingDescriptor pooling(dyn::cudnnPoolingMode_t mode, int kh, int kw, int ph, int pw, int sh, int sw) {
  return PoolingDescriptor("cudnnSetPooling2dDescriptor", [&](const CudnnApi& api, dyn::cudnnPoolingDescriptor_t d) {
    return api.cudnnSetPooling2dDescriptor(d, mode, dyn::CUDNN_PROPAGATE_NAN, kh, kw, ph, pw, sh, sw);
  });
}

}  // namespace senet::cuda
