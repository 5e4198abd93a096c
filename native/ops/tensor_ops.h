// Element-wise tensor utilities: fills (constant, seeded uniform / normal), copies (between
// devices, and host <-> device in stream order), add, the non-finite count, and the NCHW ->
// NHWC transpose of an input batch.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/tensor.h"

namespace senet {

struct Fill {
  Tensor tensor;
  double value = 0;
};

/// Seeded fill; element i depends only on (seed, i), identical across backends.
struct FillRandom {
  enum class Kind { Normal, Uniform } kind = Kind::Normal;
  Tensor tensor;
  float a = 0, b = 1;  // normal: mean, std; uniform: low, high
  uint64_t seed = 0;
};

/// dst = src (same dtype and element count; devices may differ). With only_if (an int32 scalar
/// on dst's device), the copy happens only when it is not 0 when the copy runs.
struct Copy {
  Tensor src, dst, only_if;
};

/// out = a + b, float32 or bfloat16 (all three the same dtype, summed in float32), same shapes;
/// out may alias a or b.
struct Add {
  Tensor a, b, out;
};
/// y = x converted between float32 and bfloat16 (round to nearest even), same element count.
struct Cast {
  Tensor x, y;
};

/// count (an int32 scalar) = how many elements of the float32 tensors are NaN or infinite; with
/// accumulate, count += that many (saturating), so that a flag stays set until the host clears it.
struct CountNonFinite {
  std::vector<Tensor> tensors;
  Tensor count;
  bool accumulate = false;
};

/// y = table[c * 256 + x] for bytes x whose last dimension is the channel c: a batch of image
/// bytes normalised on the device. y (x's shape) is float32 or bfloat16 (the table's value
/// rounded once, as a cast of the float32 result).
struct NormalizeBytes {
  Tensor x;      // (..., C) uint8
  Tensor table;  // (C, 256) float32
  Tensor y;      // (..., C)
};

/// y (N, H, W, C) = x (N, C, H, W) transposed: a PyTorch-layout batch into senet's.
struct ToChannelsLast {
  Tensor x, y;
};

void fill(const Fill& a);
void fill_random(const FillRandom& a);
void copy(const Copy& a);
void add(const Add& a);
void cast(const Cast& a);
void count_non_finite(const CountNonFinite& a);
void to_channels_last(const ToChannelsLast& a);
void normalize_bytes(const NormalizeBytes& a);

/// Queues a copy of `data` (the caller's bytes, already copied off the JavaScript heap) into t.
void upload(const Tensor& t, std::vector<char> data);
/// Queues a read of t into `dst` (t.nbytes() bytes, valid until done runs): done receives the
/// error pending on the device, or one from the copy, or null. done runs on the executor thread.
void download(const Tensor& t, void* dst, std::function<void(std::exception_ptr)> done);
/// Waits for all work queued on a device; rethrows an error that was pending there.
void synchronize(Device device);

namespace cpu {
void fill(const Fill& a);
void fill_random(const FillRandom& a);
void add(const Add& a);
void cast(const Cast& a);
void count_non_finite(const CountNonFinite& a);
void to_channels_last(const ToChannelsLast& a);
void normalize_bytes(const NormalizeBytes& a);
/// only_if, read on the host.
void copy_if(const Copy& a);
}  // namespace cpu

namespace cuda {
void fill(const Fill& a);
void fill_random(const FillRandom& a);
void add(const Add& a);
void cast(const Cast& a);
void count_non_finite(const CountNonFinite& a);
void to_channels_last(const ToChannelsLast& a);
void normalize_bytes(const NormalizeBytes& a);
/// Device to device, guarded by only_if when given.
void copy_device(const Copy& a);
void copy_from_host(const Tensor& t, const void* src, size_t bytes);
/// Returns when the bytes are in dst (a stream synchronisation); reports device-side errors
/// (an out-of-range label) found since the last read.
void copy_to_host(const Tensor& t, void* dst, size_t bytes);
}  // namespace cuda

}  // namespace senet
