#include "core/tensor.h"

#include <cstdlib>
#include <limits>

#include "core/error.h"
#include "core/device_memory.h"

namespace senet {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F32: return 4;
    case DType::I64: return 8;
    case DType::I32: return 4;
    case DType::U8: return 1;
  }
  return 1;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "float32";
    case DType::I64: return "int64";
    case DType::I32: return "int32";
    case DType::U8: return "uint8";
  }
  return "?";
}

const char* device_name(Device device) { return device == Device::Cpu ? "cpu" : "cuda"; }

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::shared_ptr<Storage> Storage::allocate(size_t bytes, Device device) {
  void* data = nullptr;
  void* base = nullptr;
  if (bytes > 0) {
    if (device == Device::Cpu) {
      // 64-byte alignment for AVX-512 loads, done by hand over malloc: glibc's aligned_alloc
      // asks for more than the block it later frees, so a freed tensor's hole never fits the
      // next tensor of the same size and the heap grows without bound.
      base = std::malloc(bytes + 63);
      if (!base)
        throw_error(ErrorCode::OutOfMemory,
                    "host allocation of " + std::to_string(bytes) + " bytes failed");
      data = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(base) + 63) & ~uintptr_t{63});
    } else {
      data = base = device_alloc(bytes);
    }
  }
  return std::shared_ptr<Storage>(new Storage(base, data, bytes, device));
}

void Storage::release() {
  if (released_) return;
  released_ = true;
  if (base_) {
    if (device_ == Device::Cpu)
      std::free(base_);
    else
      device_free(base_);
  }
  base_ = data_ = nullptr;
}

Storage::~Storage() { release(); }

Tensor empty(const Shape& shape, DType dtype, Device device) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw_error(ErrorCode::Shape, "negative dimension in shape " + shape_str(shape));
    if (d > 0 && n > std::numeric_limits<int64_t>::max() / d / 8)
      throw_error(ErrorCode::OutOfMemory, "shape " + shape_str(shape) + " is too large");
    n *= d;
  }
  Tensor t;
  t.shape = shape;
  t.dtype = dtype;
  t.storage = Storage::allocate(static_cast<size_t>(n) * dtype_size(dtype), device);
  return t;
}

Tensor view(const Tensor& base, int64_t offset, const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw_error(ErrorCode::Shape, "view: negative dimension in shape " + shape_str(shape));
    n *= d;
  }
  if (offset < 0 || offset + n > base.numel())
    throw_error(ErrorCode::Shape, "view: elements [" + std::to_string(offset) + ", " +
                                      std::to_string(offset + n) + ") are outside a tensor of " +
                                      std::to_string(base.numel()) + " elements");
  Tensor t;
  t.storage = base.storage;
  t.offset = base.offset + offset;
  t.shape = shape;
  t.dtype = base.dtype;
  return t;
}

}  // namespace senet
