// The tensor: a typed, shaped window onto one allocation (Storage). Activations are channels-last,
// (N, H, W, C); conv weights (Cout, kH, kW, Cin / groups). Views share their base's storage, which
// is how parameters sit in one flat arena and their gradients in a second of the same layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace senet {

enum class DType : int { F32 = 0, I64 = 1, I32 = 2, U8 = 3 };
enum class Device : int { Cpu = 0, Cuda = 1 };

using Shape = std::vector<int64_t>;

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);
const char* device_name(Device device);
std::string shape_str(const Shape& shape);
int64_t shape_numel(const Shape& shape);

/// One allocation. release() frees it at once (dispose); every view of it then reports Disposed.
class Storage {
 public:
  static std::shared_ptr<Storage> allocate(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void release();
  bool released() const { return released_; }
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  Storage(void* base, void* data, size_t bytes, Device device)
      : base_(base), data_(data), bytes_(bytes), device_(device) {}
  void* base_;  // what the allocator returned
  void* data_;  // the aligned start
  size_t bytes_;
  Device device_;
  bool released_ = false;
};

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
