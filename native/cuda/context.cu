#include "cuda/context.h"

#include <cstdlib>
#include <mutex>

#include "core/cuda_probe.h"
#include "core/device_memory.h"

namespace senet::cuda {

void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line) {
  cudaGetLastError();  // clear a non-sticky error so that the process can go on
  ErrorCode code = err == cudaErrorMemoryAllocation ? ErrorCode::CudaOom : ErrorCode::Library;
  throw_library_error(code, "CUDA", call, file, line,
                      std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err));
}

void throw_cudnn_error(dyn::cudnnStatus_t status, const char* call, const char* file, int line) {
  const CudnnApi* api = cudnn_api();
  std::string text = api ? api->cudnnGetErrorString(status) : "";
  throw_library_error(ErrorCode::Library, "cuDNN", call, file, line,
                      text + " (status " + std::to_string(static_cast<int>(status)) + ")");
}

void throw_cublas_error(dyn::cublasStatus_t status, const char* call, const char* file, int line) {
  const CublasApi* api = cublas_api();
  std::string text = api ? api->cublasGetStatusString(status) : "";
  ErrorCode code = status == dyn::CUBLAS_STATUS_ALLOC_FAILED ? ErrorCode::CudaOom : ErrorCode::Library;
  throw_library_error(code, "cuBLAS", call, file, line,
                      text + " (status " + std::to_string(static_cast<int>(status)) + ")");
}

CudnnHandle::CudnnHandle(const CudnnApi& api, cudaStream_t stream) : api_(api) {
  SENET_CUDNN_CHECK(api_.cudnnCreate(&handle_));
  dyn::cudnnStatus_t st = api_.cudnnSetStream(handle_, stream);
  if (st != dyn::CUDNN_STATUS_SUCCESS) {
    api_.cudnnDestroy(handle_);
    throw_cudnn_error(st, "cudnnSetStream(handle_, stream)", __FILE__, __LINE__);
  }
}

CudnnHandle::~CudnnHandle() { api_.cudnnDestroy(handle_); }

CublasHandle::CublasHandle(const CublasApi& api, cudaStream_t stream) : api_(api) {
  SENET_CUBLAS_CHECK(api_.cublasCreate_v2(&handle_));
  // Plain float32 arithmetic (no TF32): results must match the CPU backend and PyTorch's numbers.
  dyn::cublasStatus_t st = api_.cublasSetStream_v2(handle_, stream);
  if (st == dyn::CUBLAS_STATUS_SUCCESS) st = api_.cublasSetMathMode(handle_, dyn::CUBLAS_DEFAULT_MATH);
  if (st != dyn::CUBLAS_STATUS_SUCCESS) {
    api_.cublasDestroy_v2(handle_);
    throw_cublas_error(st, "cublasSetStream_v2 / cublasSetMathMode", __FILE__, __LINE__);
  }
}

CublasHandle::~CublasHandle() { api_.cublasDestroy_v2(handle_); }

PinnedBuffer::~PinnedBuffer() {
  if (data_) cudaFreeHost(data_);
}

void* PinnedBuffer::reserve(size_t bytes) {
  if (bytes > bytes_) {
    if (data_) SENET_CUDA_CHECK(cudaFreeHost(data_));
    data_ = nullptr;
    bytes_ = 0;
    size_t rounded = (bytes + (1 << 20) - 1) / (1 << 20) * (1 << 20);
    SENET_CUDA_CHECK(cudaMallocHost(&data_, rounded));
    bytes_ = rounded;
  }
  return data_;
}

Event::Event() { SENET_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming)); }

Event::~Event() {
  if (event_) cudaEventDestroy(event_);
}

namespace {

std::mutex g_mutex;
Context* g_context = nullptr;
int g_selected = -1;

// Why the driver or the device cannot be used, from cudaGetDeviceCount's error.
std::string no_cuda_reason(cudaError_t err, int driver_version) {
  if (driver_version == 0)
    return "no NVIDIA driver found (libcuda.so.1 could not be loaded)";
  if (err == cudaErrorInsufficientDriver)
    return "the NVIDIA driver supports CUDA " + std::to_string(driver_version / 1000) + "." +
           std::to_string(driver_version % 1000 / 10) +
           "; this build of senet needs a driver for CUDA 13.0 or newer";
  if (err == cudaErrorNoDevice) {
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    return std::string("no CUDA device found") +
           (visible ? std::string(" (CUDA_VISIBLE_DEVICES=") + visible + ")" : "");
  }
  return std::string("CUDA could not start: ") + cudaGetErrorName(err) + ": " + cudaGetErrorString(err);
}

int default_device() {
  if (g_selected >= 0) return g_selected;
  const char* env = std::getenv("SENET_CUDA_DEVICE");
  return env && *env ? std::atoi(env) : 0;
}

}  // namespace

// Binds the calling thread to the device before any member (the staging events) is created,
// so that they belong to that device and no context starts on device 0 by accident.
int bind_device(int device) {
  SENET_CUDA_CHECK(cudaSetDevice(device));
  return device;
}

Context::Context(int device) : device_(bind_device(device)) {
  cudaDeviceProp prop{};
  SENET_CUDA_CHECK(cudaGetDeviceProperties(&prop, device_));
  device_name_ = prop.name;
  SENET_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  try {
    // Keep freed blocks in the pool instead of returning them at every synchronisation:
    // steady-state training then allocates nothing from the driver.
    cudaMemPool_t pool;
    SENET_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device_));
    uint64_t keep = UINT64_MAX;
    SENET_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep));
  } catch (...) {
    cudaStreamDestroy(stream_);
    cudaGetLastError();
    throw;
  }
}

Context& Context::get() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_context) {
    // The current device is per host thread: a Node worker thread must be bound too.
    thread_local int bound = -1;
    if (bound != g_context->device_) {
      SENET_CUDA_CHECK(cudaSetDevice(g_context->device_));
      bound = g_context->device_;
    }
    return *g_context;
  }
  int driver = 0, count = 0;
  cudaDriverGetVersion(&driver);
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    cudaGetLastError();
    throw_error(ErrorCode::NoCuda, "CUDA is not available: " +
                                       no_cuda_reason(err == cudaSuccess ? cudaErrorNoDevice : err, driver));
  }
  int device = default_device();
  if (device < 0 || device >= count)
    throw_error(ErrorCode::Device, "CUDA device " + std::to_string(device) + " does not exist (" +
                                       std::to_string(count) + " found)");
  g_context = new Context(device);  // lives until the process ends
  return *g_context;
}

bool Context::created() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_context != nullptr;
}

dyn::cudnnHandle_t Context::cudnn() {
  if (!cudnn_) cudnn_ = std::make_unique<CudnnHandle>(require_cudnn(), stream_);
  return cudnn_->get();
}

dyn::cublasHandle_t Context::cublas() {
  if (!cublas_) cublas_ = std::make_unique<CublasHandle>(require_cublas(), stream_);
  return cublas_->get();
}

void* Context::staging(size_t bytes) {
  slot_ ^= 1;
  // Waits only for the copy queued two copies ago, long finished in a training loop.
  SENET_CUDA_CHECK(cudaEventSynchronize(pinned_done_[slot_].get()));
  return pinned_[slot_].reserve(bytes);
}

void Context::staged() { SENET_CUDA_CHECK(cudaEventRecord(pinned_done_[slot_].get(), stream_)); }

int* Context::error_flags() {
  if (!error_flags_) {
    SENET_CUDA_CHECK(cudaMalloc(&error_flags_, sizeof(int)));
    SENET_CUDA_CHECK(cudaMallocHost(&error_flags_host_, sizeof(int)));
    SENET_CUDA_CHECK(cudaMemsetAsync(error_flags_, 0, sizeof(int), stream_));
  }
  return error_flags_;
}

void Context::check_error_flags() {
  if (!error_flags_) {
    SENET_CUDA_CHECK(cudaStreamSynchronize(stream_));
    return;
  }
  SENET_CUDA_CHECK(cudaMemcpyAsync(error_flags_host_, error_flags_, sizeof(int), cudaMemcpyDeviceToHost, stream_));
  SENET_CUDA_CHECK(cudaStreamSynchronize(stream_));
  const int flags = *error_flags_host_;
  if (!flags) return;
  SENET_CUDA_CHECK(cudaMemsetAsync(error_flags_, 0, sizeof(int), stream_));
  if (flags & kBadLabel)
    throw_error(ErrorCode::Argument, "crossEntropy: labels: expected values in [0, classes), received one outside "
                                     "(found on the GPU when the op ran)");
}

void* Context::scratch(size_t bytes) {
  if (bytes > scratch_bytes_) {
    if (scratch_) device_free(scratch_);
    scratch_ = nullptr;
    scratch_bytes_ = 0;
    size_t rounded = (bytes + 255) / 256 * 256;
    scratch_ = device_alloc(rounded);
    scratch_bytes_ = rounded;
  }
  return scratch_;
}

}  // namespace senet::cuda

namespace senet {

CudaProbe probe_cuda() {
  CudaProbe p;
  p.built = true;
  cudaDriverGetVersion(&p.driver_version);
  cudaRuntimeGetVersion(&p.runtime_version);
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    cudaGetLastError();
    p.reason = cuda::no_cuda_reason(err == cudaSuccess ? cudaErrorNoDevice : err, p.driver_version);
  } else {
    for (int i = 0; i < count; ++i) {
      cudaDeviceProp prop{};
      if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
        cudaGetLastError();
        continue;
      }
      p.devices.push_back({i, prop.name, prop.major, prop.minor, static_cast<uint64_t>(prop.totalGlobalMem)});
    }
  }
  {
    std::lock_guard<std::mutex> lock(cuda::g_mutex);
    p.selected_device = cuda::g_context ? cuda::g_context->device() : cuda::default_device();
  }
  for (const CudaDeviceInfo& d : p.devices) {
    if (d.index != p.selected_device || !p.reason.empty()) continue;
    int pools = 0;
    cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, d.index);
    cudaGetLastError();
    if (d.major < 8)
      p.reason = "device " + std::to_string(d.index) + " (" + d.name + ") has compute capability " +
                 std::to_string(d.major) + "." + std::to_string(d.minor) +
                 "; this build has GPU code for 8.0 and newer";
    else if (!pools)
      p.reason = "device " + std::to_string(d.index) + " (" + d.name +
                 ") does not support CUDA's stream-ordered memory pools";
  }
  // The libraries are looked for even without a GPU, so that `senet info` says all that is missing.
  p.cudnn = cuda::cudnn_info();
  p.cublas = cuda::cublas_info();
  if (p.reason.empty() && !p.cudnn.loaded) p.reason = p.cudnn.reason;
  if (p.reason.empty() && !p.cublas.loaded) p.reason = p.cublas.reason;
  p.available = p.reason.empty();
  return p;
}

void select_cuda_device(int index) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    count = 0;
  }
  if (count == 0) throw_error(ErrorCode::NoCuda, "selectCudaDevice: no CUDA device is available");
  std::lock_guard<std::mutex> lock(cuda::g_mutex);
  if (cuda::g_context && cuda::g_context->device() != index)
    throw_error(ErrorCode::Device, "selectCudaDevice: the CUDA backend already runs on device " +
                                       std::to_string(cuda::g_context->device()) +
                                       "; choose the device before the first CUDA tensor");
  if (index < 0 || index >= count)
    throw_error(ErrorCode::Device, "selectCudaDevice: index: expected a device in [0, " +
                                       std::to_string(count) + "), received " + std::to_string(index));
  cuda::g_selected = index;
}

void cuda_synchronize() {
  if (!cuda::Context::created()) return;
  SENET_CUDA_CHECK(cudaStreamSynchronize(cuda::Context::get().stream()));
}

}  // namespace senet
