// RAII owners of cuDNN descriptors (one template for every kind), the builders senet uses, and a
// per-shape cache (descriptors are cheap but not free to set up, and a training step reuses the
// same shapes every time).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/tensor.h"
#include "cuda/check.h"
#include "cuda/libraries.h"

namespace senet::cuda {

/// How each kind of descriptor is created and destroyed, with the names a failure reports.
template <class Handle>
struct DescriptorApi;

#define SENET_DESCRIPTOR_API(Kind)                                                           \
  template <>                                                                                \
  struct DescriptorApi<dyn::cudnn##Kind##Descriptor_t> {                                     \
    static constexpr const char* create_call = "cudnnCreate" #Kind "Descriptor";             \
    static auto create(const CudnnApi& a) { return a.cudnnCreate##Kind##Descriptor; }        \
    static auto destroy(const CudnnApi& a) { return a.cudnnDestroy##Kind##Descriptor; }      \
  };
SENET_DESCRIPTOR_API(Tensor)
SENET_DESCRIPTOR_API(Filter)
SENET_DESCRIPTOR_API(Convolution)
SENET_DESCRIPTOR_API(Pooling)
#undef SENET_DESCRIPTOR_API

/// One cuDNN descriptor: created and set in the constructor (destroyed again if setting it
/// fails), destroyed in the destructor.
template <class Handle>
class Descriptor {
 public:
  /// set(api, handle) returns the status of the calls that set it up, named by set_call.
  template <class Set>
  Descriptor(const char* set_call, Set&& set) : api_(require_cudnn()) {
    using Api = DescriptorApi<Handle>;
    dyn::cudnnStatus_t st = Api::create(api_)(&desc_);
    if (st != dyn::CUDNN_STATUS_SUCCESS) throw_cudnn_error(st, Api::create_call, __FILE__, __LINE__);
    st = set(api_, desc_);
    if (st != dyn::CUDNN_STATUS_SUCCESS) {
      Api::destroy(api_)(desc_);
      throw_cudnn_error(st, set_call, __FILE__, __LINE__);
    }
  }
  ~Descriptor() { DescriptorApi<Handle>::destroy(api_)(desc_); }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  Handle get() const { return desc_; }

 private:
  const CudnnApi& api_;
  Handle desc_ = nullptr;
};

using TensorDescriptor = Descriptor<dyn::cudnnTensorDescriptor_t>;
using FilterDescriptor = Descriptor<dyn::cudnnFilterDescriptor_t>;
using ConvolutionDescriptor = Descriptor<dyn::cudnnConvolutionDescriptor_t>;
using PoolingDescriptor = Descriptor<dyn::cudnnPoolingDescriptor_t>;

/// cuDNN's type for a senet dtype: float32 or bfloat16 (SENET_DTYPE otherwise).
dyn::cudnnDataType_t cudnn_type(DType t);

/// A channels-last (N, H, W, C) tensor, given as cuDNN's (n, c, h, w).
TensorDescriptor nhwc_tensor(DType t, int64_t n, int64_t c, int64_t h, int64_t w);
/// A filter of (K, R, S, C) = (Cout, kH, kW, Cin / groups), cuDNN's NHWC filter layout.
FilterDescriptor nhwc_filter(DType t, int64_t k, int64_t c, int64_t h, int64_t w);
/// The math type a convolution of this precision runs by default (see convolution()).
dyn::cudnnMathType_t convolution_math(DType data, bool tf32);
/// Cross-correlation (what deep learning calls convolution) with groups, accumulating in float32.
/// Math: FMA only for float32 (results match the CPU and PyTorch's float32); tf32 allows TF32
/// tensor cores; bfloat16 data always runs on tensor cores.
ConvolutionDescriptor convolution(int pad_h, int pad_w, int stride_h, int stride_w, int groups, DType data, bool tf32);
/// Max or average pooling over a window, NaN propagated.
PoolingDescriptor pooling(dyn::cudnnPoolingMode_t mode, int kh, int kw, int ph, int pw, int sh, int sw);

/// Descriptors under a plain key (shape and parameters), built once.
template <class T>
class DescriptorCache {
 public:
  template <class Make>
  T& get(const std::string& key, Make&& make) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) it = entries_.emplace(key, make()).first;
    return *it->second;
  }
  /// Calls fn(key, entry) for every entry, under the lock.
  template <class Fn>
  void each(Fn&& fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [key, entry] : entries_) fn(key, *entry);
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<T>> entries_;
};

}  // namespace senet::cuda
