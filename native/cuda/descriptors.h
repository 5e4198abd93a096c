// RAII owners of cuDNN descriptors, and a per-shape cache of them (descriptors are cheap but not
// free to set up, and a training step reuses the same shapes every time).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "cuda/check.h"
#include "cuda/libraries.h"

namespace senet::cuda {

class TensorDescriptor {
 public:
  /// A float32 channels-last (N, H, W, C) tensor, given as cuDNN's (n, c, h, w).
  TensorDescriptor(int64_t n, int64_t c, int64_t h, int64_t w);
  ~TensorDescriptor();
  TensorDescriptor(const TensorDescriptor&) = delete;
  TensorDescriptor& operator=(const TensorDescriptor&) = delete;
  dyn::cudnnTensorDescriptor_t get() const { return desc_; }

 private:
  const CudnnApi& api_;
  dyn::cudnnTensorDescriptor_t desc_ = nullptr;
};

class PoolingDescriptor {
 public:
  PoolingDescriptor(dyn::cudnnPoolingMode_t mode, int kh, int kw, int ph, int pw, int sh, int sw);
  ~PoolingDescriptor();
  PoolingDescriptor(const PoolingDescriptor&) = delete;
  PoolingDescriptor& operator=(const PoolingDescriptor&) = delete;
  dyn::cudnnPoolingDescriptor_t get() const { return desc_; }

 private:
  const CudnnApi& api_;
  dyn::cudnnPoolingDescriptor_t desc_ = nullptr;
};

class FilterDescriptor {
 public:
  /// A float32 filter of (K, R, S, C) = (Cout, kH, kW, Cin / groups), cuDNN's NHWC filter layout.
  FilterDescriptor(int64_t k, int64_t c, int64_t h, int64_t w);
  ~FilterDescriptor();
  FilterDescriptor(const FilterDescriptor&) = delete;
  FilterDescriptor& operator=(const FilterDescriptor&) = delete;
  dyn::cudnnFilterDescriptor_t get() const { return desc_; }

 private:
  const CudnnApi& api_;
  dyn::cudnnFilterDescriptor_t desc_ = nullptr;
};

class ConvolutionDescriptor {
 public:
  /// Cross-correlation (what deep learning calls convolution) with groups, float32, no TF32.
  /// tf32: CUDNN_DEFAULT_MATH (TF32 tensor cores allowed on Ampere and later); else FMA math only.
  ConvolutionDescriptor(int pad_h, int pad_w, int stride_h, int stride_w, int groups, bool tf32 = false);
  ~ConvolutionDescriptor();
  ConvolutionDescriptor(const ConvolutionDescriptor&) = delete;
  ConvolutionDescriptor& operator=(const ConvolutionDescriptor&) = delete;
  dyn::cudnnConvolutionDescriptor_t get() const { return desc_; }

 private:
  const CudnnApi& api_;
  dyn::cudnnConvolutionDescriptor_t desc_ = nullptr;
};

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

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<T>> entries_;
};

}  // namespace senet::cuda
