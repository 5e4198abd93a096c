// The tensor: a typed, shaped window onto one allocation (Storage). Activations are channels-last,
// (N, H, W, C); conv weights (Cout, kH, kW, Cin / groups). Views share their base's storage, which
// is how parameters sit in one flat arena and their gradients in a second of the same layout.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace senet {

// BF16: bfloat16 activations and weight copies of mixed precision (core/bf16.h).
enum class DType : int { F32 = 0, I64 = 1, I32 = 2, U8 = 3, BF16 = 4 };
enum class Device : int { Cpu = 0, Cuda = 1 };

using Shape = std::vector<int64_t>;

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);
const char* device_name(Device device);
std::string shape_str(const Shape& shape);
/// The element count of a shape; SENET_SHAPE for a negative size, or a count (in bytes of the
/// widest dtype) that does not fit in 63 bits.
int64_t shape_numel(const Shape& shape);

/// One allocation. Disposing it (release_storage) marks it released at once, so that every view
/// reports Disposed, and frees the memory in stream order, after the work already queued on it.
class Storage {
 public:
  static std::shared_ptr<Storage> allocate(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  /// Marks the storage released; true the first time (the caller then queues free_now()).
  bool mark_released() { return !released_.exchange(true); }
  /// Marks the storage as held only by queued work (its owner disposed or forgotten it); its
  /// bytes count in orphaned_bytes() until it is freed.
  void mark_orphaned() noexcept;
  /// Frees the memory now (on the device's executor, or when the last reference goes).
  void free_now() noexcept;
  bool released() const { return released_.load(std::memory_order_relaxed); }
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  Storage(void* base, void* data, size_t bytes, Device device, size_t mapped)
      : base_(base), data_(data), bytes_(bytes), device_(device), mapped_(mapped) {}
  void* base_;  // what the allocator returned
  void* data_;  // the aligned start
  size_t bytes_;
  Device device_;
  size_t mapped_;  // host memory mapped on its own (large tensors): its length, else 0
  std::atomic<bool> released_{false};
  std::atomic<bool> orphaned_{false};
  bool freed_ = false;
};

/// dispose(): marks `s` released and frees its memory after the work queued on its device.
void release_storage(const std::shared_ptr<Storage>& s);

/// Live allocations and their bytes, per device (what memory() reports).
struct MemoryStats {
  int64_t allocations = 0;
  int64_t cpu_bytes = 0;
  int64_t cuda_bytes = 0;
};
MemoryStats memory_stats();

/// Bytes on a device that only queued work still holds (disposed or garbage-collected tensors
/// whose last users have not run yet). Allocation waits for the queue when they grow large, so
/// that a loop producing tensors faster than the device consumes them stays bounded.
int64_t orphaned_bytes(Device device);

struct Tensor {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements of dtype, from the start of storage
  Shape shape;
  DType dtype = DType::F32;

  Device device() const { return storage ? storage->device() : Device::Cpu; }
  int64_t numel() const { return shape_numel(shape); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  int64_t dim(size_t i) const { return shape[i]; }
  size_t rank() const { return shape.size(); }
  bool usable() const { return storage && !storage->released(); }
  void* raw() const { return static_cast<char*>(storage->data()) + offset * dtype_size(dtype); }
  template <class T>
  T* data() const { return static_cast<T*>(raw()); }
};

/// A new tensor with uninitialised contents.
Tensor empty(const Shape& shape, DType dtype, Device device);

/// A view of `count` elements of `base` starting at element `offset`, with `shape`.
Tensor view(const Tensor& base, int64_t offset, const Shape& shape);

}  // namespace senet
