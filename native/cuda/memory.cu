// Device memory through CUDA's stream-ordered pool, and copies between host and device, all
// queued on the backend's stream.
#include <algorithm>
#include <cstring>

#include "core/device_memory.h"
#include "core/executor.h"
#include "cuda/context.h"
#include "ops/tensor_ops.h"

namespace senet {

void* device_alloc(size_t bytes) {
  cuda::Context& ctx = cuda::Context::get();
  void* ptr = nullptr;
  cudaError_t err = cudaMallocAsync(&ptr, bytes, ctx.stream());
  if (err == cudaErrorMemoryAllocation) {
    // The pool may hold freed blocks of other sizes: give them back to the driver and retry.
    cudaGetLastError();
    cudaMemPool_t pool;
    if (cudaDeviceGetDefaultMemPool(&pool, ctx.device()) == cudaSuccess) {
      cudaStreamSynchronize(ctx.stream());
      cudaMemPoolTrimTo(pool, 0);
    }
    cudaGetLastError();  // nothing from the trim may surface later as another call's error
    err = cudaMallocAsync(&ptr, bytes, ctx.stream());
  }
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    cudaGetLastError();
    throw_error(ErrorCode::CudaOom,
                "out of GPU memory on device " + std::to_string(ctx.device()) + " (" + ctx.device_name() +
                    "): requested " + std::to_string(bytes) + " bytes, " + std::to_string(free_bytes) +
                    " free of " + std::to_string(total_bytes) + " total");
  }
  if (err != cudaSuccess) cuda::throw_cuda_error(err, "cudaMallocAsync(&ptr, bytes, ctx.stream())", __FILE__, __LINE__);
  return ptr;
}

void device_free(void* ptr) noexcept {
  if (!ptr || !cuda::Context::created()) return;
  // Stream-ordered: kernels queued before this that still read the memory finish first.
  if (cudaFreeAsync(ptr, cuda::Context::get().stream()) != cudaSuccess) cudaGetLastError();
}

void device_trim() noexcept {
  if (!cuda::Context::created()) return;
  try {
    // Frees are queued on the GPU's executor (stream order): let them reach the stream first.
    Executor::of(Device::Cuda).drain();
    cuda::Context& ctx = cuda::Context::get();
    cudaMemPool_t pool;
    if (cudaStreamSynchronize(ctx.stream()) == cudaSuccess && cudaDeviceGetDefaultMemPool(&pool, ctx.device()) == cudaSuccess)
      cudaMemPoolTrimTo(pool, 0);
  } catch (...) {
    // Trimming is best effort: the retried allocation reports what is wrong.
  }
  cudaGetLastError();
}

int64_t device_pool_bytes() noexcept {
  if (!cuda::Context::created()) return 0;
  try {
    cudaMemPool_t pool;
    uint64_t reserved = 0;
    if (cudaDeviceGetDefaultMemPool(&pool, cuda::Context::get().device()) == cudaSuccess &&
        cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemCurrent, &reserved) == cudaSuccess)
      return static_cast<int64_t>(reserved);
  } catch (...) {
  }
  cudaGetLastError();
  return 0;
}

namespace cuda {

void copy_from_host(const Tensor& t, const void* src, size_t bytes) {
  // A batch (up to kWhole bytes: 224x224x3 bytes at batch 445) takes one staging slot whole: the
  // executor thread then waits only for the upload two before it, long done. In chunks, the
  // third would wait for the first to reach the device, i.e. for every kernel queued ahead of it
  // (the whole step before), and the GPU would idle while the rest is copied. Larger uploads (a
  // state dict, a float batch that large) go in chunks, so that the pinned staging stays bounded
  // (the slots never shrink).
  constexpr size_t kWhole = size_t{64} << 20, kChunk = size_t{8} << 20;
  const size_t piece = bytes <= kWhole ? bytes : kChunk;
  Context& ctx = Context::get();
  for (size_t off = 0; off < bytes; off += piece) {
    const size_t len = std::min(piece, bytes - off);
    void* pinned = ctx.staging(len);
    std::memcpy(pinned, static_cast<const char*>(src) + off, len);
    SENET_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(t.raw()) + off, pinned, len, cudaMemcpyHostToDevice, ctx.stream()));
    ctx.staged();
  }
}

void copy_to_host(const Tensor& t, void* dst, size_t bytes) {
  Context& ctx = Context::get();
  if (bytes) SENET_CUDA_CHECK(cudaMemcpyAsync(dst, t.raw(), bytes, cudaMemcpyDeviceToHost, ctx.stream()));
  // One synchronisation for the bytes and the error flags: a read is where device errors surface.
  ctx.check_error_flags();
}

}  // namespace cuda

}  // namespace senet
