// The CUDA backend's context: one device, one stream on which every op and copy is queued (so no
// op needs a host synchronisation), the cuDNN and cuBLAS handles bound to that stream, pinned
// staging for host-to-device copies, and device scratch buffers. Each library object is owned
// by an RAII wrapper; the context itself lives until the process ends (tensors may be freed by
// finalisers after any static destructor would have run).
#pragma once

#include <cuda_runtime_api.h>

#include <memory>
#include <string>

#include "cuda/check.h"
#include "cuda/libraries.h"

namespace senet::cuda {

class CudnnHandle {
 public:
  CudnnHandle(const CudnnApi& api, cudaStream_t stream);
  ~CudnnHandle();
  CudnnHandle(const CudnnHandle&) = delete;
  CudnnHandle& operator=(const CudnnHandle&) = delete;
  dyn::cudnnHandle_t get() const { return handle_; }

 private:
  const CudnnApi& api_;
  dyn::cudnnHandle_t handle_ = nullptr;
};

class CublasHandle {
 public:
  CublasHandle(const CublasApi& api, cudaStream_t stream);
  ~CublasHandle();
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  dyn::cublasHandle_t get() const { return handle_; }

 private:
  const CublasApi& api_;
  dyn::cublasHandle_t handle_ = nullptr;
};

/// Page-locked host memory for asynchronous host-to-device copies.
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer();
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  void* reserve(size_t bytes);

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

class Event {
 public:
  Event();
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

class Context {
 public:
  /// The context, created on first use; SENET_NO_CUDA with the reason when there is no usable GPU.
  static Context& get();
  /// True once get() has succeeded (device selection is then fixed).
  static bool created();

  int device() const { return device_; }
  const std::string& device_name() const { return device_name_; }
  cudaStream_t stream() const { return stream_; }
  /// cuDNN / cuBLAS handles on the stream; SENET_NO_CUDNN / SENET_NO_CUBLAS when absent.
  dyn::cudnnHandle_t cudnn();
  dyn::cublasHandle_t cublas();

  /// Pinned staging for one host-to-device copy of `bytes`; the slot is free to overwrite
  /// (its previous copy has completed). Call staged() after queueing the copy from it.
  void* staging(size_t bytes);
  void staged();

  /// Device scratch memory for temporaries of one op (stream-ordered, grown as needed).
  void* scratch(size_t bytes);

  /// A device word our kernels set (bits of DeviceError) when they find bad input, such as a
  /// label out of range: a kernel cannot throw, so the next read back reports it.
  int* error_flags();
  /// Queues a read of the flags, synchronises the stream, and throws (clearing them) when one is
  /// set. Reads back call it, so that an error surfaces at the next await, as on the CPU.
  void check_error_flags();

 private:
  explicit Context(int device);
  int device_;
  std::string device_name_;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<CudnnHandle> cudnn_;
  std::unique_ptr<CublasHandle> cublas_;
  // Two staging slots used in turn, so that copying a batch never waits for the copy before it.
  PinnedBuffer pinned_[2];
  Event pinned_done_[2];
  int slot_ = 0;
  void* scratch_ = nullptr;
  size_t scratch_bytes_ = 0;
  int* error_flags_ = nullptr;       // device
  int* error_flags_host_ = nullptr;  // pinned
};

/// What the error flags record.
enum DeviceError : int { kBadLabel = 1 };

}  // namespace senet::cuda
