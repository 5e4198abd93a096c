// Queues an op's work on the executor of the device its tensors live on.
#pragma once

#include <string>

#include "core/error.h"
#include "core/executor.h"
#include "core/tensor.h"
#include "ops/validate.h"

namespace senet {

// The CUDA entry point of an op, or nullptr in a build without CUDA.
#ifdef SENET_WITH_CUDA
#define SENET_CUDA_FN(fn) &::senet::cuda::fn
#else
#define SENET_CUDA_FN(fn) nullptr
#endif

/// Fails with SENET_DEVICE for a device whose kernels this op does not have.
[[noreturn]] inline void unsupported_device(const Check& check, Device device) {
  check.fail(ErrorCode::Device,
             std::string("no ") + device_name(device) + " implementation of this op in this build");
}

/// Queues fn(args) on device d's executor (the backend function of that device); returns at once.
/// The arguments are copied into the task, so the tensors they name stay alive until it has run.
template <class T>
struct NoDeduce {
  using type = T;
};

template <class A>
void enqueue(const Check& c, Device d, void (*cpu_fn)(const A&), void (*cuda_fn)(const typename NoDeduce<A>::type&),
             const typename NoDeduce<A>::type& args) {
  void (*fn)(const A&) = d == Device::Cpu ? cpu_fn : cuda_fn;
  if (!fn) unsupported_device(c, d);
  Executor::of(d).submit([fn, a = args] { fn(a); });
}

/// A tensor argument that may be absent (no storage): its address, or nullptr.
inline const Tensor* opt(const Tensor& t) { return t.storage ? &t : nullptr; }

}  // namespace senet
