#include "core/tensor.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <limits>

#include "core/device_memory.h"
#include "core/error.h"
#include "core/executor.h"

namespace senet {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F32: return 4;
    case DType::I64: return 8;
    case DType::I32: return 4;
    case DType::U8: return 1;
    case DType::BF16: return 2;
  }
  return 1;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "float32";
    case DType::I64: return "int64";
    case DType::I32: return "int32";
    case DType::U8: return "uint8";
    case DType::BF16: return "bfloat16";
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
  for (int64_t d : shape) {
    if (d < 0) throw_error(ErrorCode::Shape, "negative dimension in shape " + shape_str(shape));
    // Every product of sizes is checked, so that no element count wraps (8: the widest dtype).
    if (d > 0 && n > std::numeric_limits<int64_t>::max() / d / 8)
      throw_error(ErrorCode::Shape, "shape " + shape_str(shape) + " has more elements than fit in memory");
    n *= d;
  }
  return n;
}

namespace {

// Host tensors from this size up are mapped on their own (glibc's default mmap threshold).
constexpr size_t kMapBytes = size_t{128} << 10;

std::atomic<int64_t> g_allocations{0};
std::atomic<int64_t> g_bytes[2] = {{0}, {0}};
std::atomic<int64_t> g_orphaned[2] = {{0}, {0}};

}  // namespace

int64_t orphaned_bytes(Device device) { return g_orphaned[static_cast<int>(device)].load(); }

MemoryStats memory_stats() {
  MemoryStats s;
  s.allocations = g_allocations.load();
  s.cpu_bytes = g_bytes[0].load();
  s.cuda_bytes = g_bytes[1].load();
  return s;
}

std::shared_ptr<Storage> Storage::allocate(size_t bytes, Device device) {
  void* data = nullptr;
  void* base = nullptr;
  size_t mapped = 0;
  if (bytes >= kMapBytes && device == Device::Cpu) {
    // Large host tensors get pages of their own: freed on the executor's thread, they go back to
    // the system at once, where a heap would keep them in the allocating thread's arena.
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    mapped = (bytes + page - 1) / page * page;
    base = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
      throw_error(ErrorCode::OutOfMemory, "host allocation of " + std::to_string(bytes) + " bytes failed");
    data = base;
  } else if (bytes > 0) {
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
  g_allocations += 1;
  g_bytes[static_cast<int>(device)] += static_cast<int64_t>(bytes);
  return std::shared_ptr<Storage>(new Storage(base, data, bytes, device, mapped));
}

void Storage::mark_orphaned() noexcept {
  if (!freed_ && !orphaned_.exchange(true)) g_orphaned[static_cast<int>(device_)] += static_cast<int64_t>(bytes_);
}

void Storage::free_now() noexcept {
  if (freed_) return;
  freed_ = true;
  if (orphaned_) g_orphaned[static_cast<int>(device_)] -= static_cast<int64_t>(bytes_);
  released_ = true;
  if (base_) {
    if (mapped_)
      munmap(base_, mapped_);
    else if (device_ == Device::Cpu)
      std::free(base_);
    else
      device_free(base_);
  }
  base_ = data_ = nullptr;
  g_allocations -= 1;
  g_bytes[static_cast<int>(device_)] -= static_cast<int64_t>(bytes_);
}

Storage::~Storage() { free_now(); }

void release_storage(const std::shared_ptr<Storage>& s) {
  if (!s || !s->mark_released()) return;
  s->mark_orphaned();
  Executor::of(s->device()).submit_always([s] { s->free_now(); });
}

Tensor empty(const Shape& shape, DType dtype, Device device) {
  const int64_t n = shape_numel(shape);
  Tensor t;
  t.shape = shape;
  t.dtype = dtype;
  t.storage = Storage::allocate(static_cast<size_t>(n) * dtype_size(dtype), device);
  return t;
}

Tensor view(const Tensor& base, int64_t offset, const Shape& shape) {
  const int64_t n = shape_numel(shape);
  if (offset < 0 || offset > base.numel() || n > base.numel() - offset)
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
