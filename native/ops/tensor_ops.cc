#include "ops/tensor_ops.h"

#include <cstring>

#include "ops/dispatch.h"

namespace senet {

void fill(Tensor& t, double value) {
  Check c("fill");
  c.usable(t, "tensor");
  c.finite(value, "value");
  if (t.device() == Device::Cpu) return cpu::fill(t, value);
  SENET_ON_CUDA(t.device(), fill(t, value));
  unsupported_device(c, t.device());
}

void fill_normal(Tensor& t, float mean, float std, uint64_t seed) {
  Check c("fillNormal");
  c.usable(t, "tensor");
  c.dtype(t, "tensor", DType::F32);
  c.finite(mean, "mean");
  c.finite(std, "std");
  if (std < 0) c.fail(ErrorCode::Argument, "std: expected a number >= 0, received " + std::to_string(std));
  if (t.device() == Device::Cpu) return cpu::fill_normal(t, mean, std, seed);
  SENET_ON_CUDA(t.device(), fill_normal(t, mean, std, seed));
  unsupported_device(c, t.device());
}

void fill_uniform(Tensor& t, float low, float high, uint64_t seed) {
  Check c("fillUniform");
  c.usable(t, "tensor");
  c.dtype(t, "tensor", DType::F32);
  c.finite(low, "low");
  c.finite(high, "high");
  if (!(low <= high))
    c.fail(ErrorCode::Argument, "expected low <= high, received low " + std::to_string(low) +
                                    " and high " + std::to_string(high));
  if (t.device() == Device::Cpu) return cpu::fill_uniform(t, low, high, seed);
  SENET_ON_CUDA(t.device(), fill_uniform(t, low, high, seed));
  unsupported_device(c, t.device());
}

void copy_from_host(Tensor& t, const void* src, size_t bytes) {
  Check c("copyFromHost");
  c.usable(t, "tensor");
  if (bytes != t.nbytes())
    c.fail(ErrorCode::Shape, "expected " + std::to_string(t.nbytes()) + " bytes, received " +
                                 std::to_string(bytes));
  if (t.device() == Device::Cpu) {
    if (bytes) std::memcpy(t.raw(), src, bytes);
    return;
  }
  SENET_ON_CUDA(t.device(), copy_from_host(t, src, bytes));
  unsupported_device(c, t.device());
}

void copy_to_host(const Tensor& t, void* dst, size_t bytes) {
  Check c("copyToHost");
  c.usable(t, "tensor");
  if (bytes != t.nbytes())
    c.fail(ErrorCode::Shape, "expected " + std::to_string(t.nbytes()) + " bytes, received " +
                                 std::to_string(bytes));
  if (t.device() == Device::Cpu) {
    if (bytes) std::memcpy(dst, t.raw(), bytes);
    return;
  }
  SENET_ON_CUDA(t.device(), copy_to_host(t, dst, bytes));
  unsupported_device(c, t.device());
}

void copy(const Tensor& src, Tensor& dst) {
  Check c("copy");
  c.usable(src, "src");
  c.usable(dst, "dst");
  c.dtype(dst, "dst", src.dtype);
  if (src.numel() != dst.numel())
    c.fail(ErrorCode::Shape, "dst: expected " + std::to_string(src.numel()) +
                                 " elements, received " + std::to_string(dst.numel()));
  if (src.storage == dst.storage && src.offset == dst.offset) return;  // a copy onto itself
  c.distinct(src, "src", dst, "dst");
  if (src.device() == Device::Cpu && dst.device() == Device::Cpu) {
    if (src.nbytes()) std::memmove(dst.raw(), src.raw(), src.nbytes());
    return;
  }
  if (src.device() == Device::Cpu) return copy_from_host(dst, src.raw(), src.nbytes());
  if (dst.device() == Device::Cpu) return copy_to_host(src, dst.raw(), src.nbytes());
  SENET_ON_CUDA(src.device(), copy_device(src, dst));
  unsupported_device(c, Device::Cuda);
}

int64_t count_non_finite(const Tensor& t) {
  Check c("countNonFinite");
  c.usable(t, "tensor");
  c.dtype(t, "tensor", DType::F32);
  if (t.device() == Device::Cpu) return cpu::count_non_finite(t);
  SENET_ON_CUDA(t.device(), count_non_finite(t));
  unsupported_device(c, t.device());
}

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  Check c("add");
  c.usable(a, "a");
  c.dtype(a, "a", DType::F32);
  c.tensor(b, "b", DType::F32, a.shape);
  c.tensor(out, "out", DType::F32, a.shape);
  Device d = c.same_device({&a, &b, &out});
  if (d == Device::Cpu) return cpu::add(a, b, out);
  SENET_ON_CUDA(d, add(a, b, out));
  unsupported_device(c, d);
}

}  // namespace senet
