#include "cuda/libraries.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "core/error.h"

namespace senet::cuda {

namespace {

struct Opened {
  void* handle = nullptr;
  CudaLibraryInfo info;
};

// Tries the file named by `env_var`, or else each soname in turn; records what each attempt said.
Opened open_first(const char* env_var, std::initializer_list<const char*> sonames, const char* what) {
  Opened o;
  const char* forced = std::getenv(env_var);
  std::vector<std::string> names;
  if (forced && *forced)
    names.push_back(forced);
  else
    for (const char* s : sonames) names.push_back(s);
  for (const std::string& name : names) {
    dlerror();
    o.handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (o.handle) {
      o.info.path = name;
      return o;
    }
    const char* err = dlerror();
    o.info.tried.push_back(err ? err : name + ": not found");  // dlerror names the file
  }
  std::string list;
  for (const std::string& t : o.info.tried) list += (list.empty() ? "" : "; ") + t;
  o.info.reason = std::string(what) + " not found" +
                  (forced && *forced ? std::string(" at ") + env_var + "=" + forced : "") +
                  " (tried " + list + ")";
  return o;
}

// Resolves every declared function; the first one missing makes the library unusable.
bool resolve(void* handle, CudaLibraryInfo& info, const char* const* names, void** slots,
             size_t count) {
  for (size_t i = 0; i < count; ++i) {
    dlerror();
    slots[i] = dlsym(handle, names[i]);
    if (!slots[i]) {
      info.reason = std::string(names[i]) + " is missing from " + info.path;
      return false;
    }
  }
  return true;
}

struct Loaded {
  std::once_flag once;
  bool ok = false;
  CudaLibraryInfo info;
};

Loaded& cudnn_state() {
  static Loaded s;
  return s;
}
Loaded& cublas_state() {
  static Loaded s;
  return s;
}

CudnnApi g_cudnn;
CublasApi g_cublas;

#define SENET_NAME(ret, name, params) #name,
#define SENET_SLOT(ret, name, params) reinterpret_cast<void**>(&api.name),

void load_cudnn() {
  Loaded& s = cudnn_state();
  Opened o = open_first("SENET_CUDNN_LIBRARY", {"libcudnn.so.9", "libcudnn.so"}, "cuDNN 9 (libcudnn.so.9)");
  s.info = o.info;
  if (!o.handle) return;
  CudnnApi& api = g_cudnn;
  const char* names[] = {SENET_CUDNN_FUNCTIONS(SENET_NAME)};
  void** slots[] = {SENET_CUDNN_FUNCTIONS(SENET_SLOT)};
  void* found[sizeof(names) / sizeof(names[0])];
  if (!resolve(o.handle, s.info, names, found, sizeof(names) / sizeof(names[0]))) return;
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); ++i) *slots[i] = found[i];
  // cuDNN 9 numbers its versions major·10000 + minor·100 + patch; cuDNN 8 used major·1000.
  size_t v = api.cudnnGetVersion();
  const bool v9_or_later = v >= 10000;
  size_t major = v9_or_later ? v / 10000 : v / 1000, minor = v9_or_later ? v / 100 % 100 : v / 100 % 10;
  s.info.version = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(v % 100);
  if (major != 9) {
    s.info.reason = "cuDNN " + s.info.version + " found at " + s.info.path + ", senet needs cuDNN 9";
    return;
  }
  // libcudnn.so.9 loads its sub-libraries lazily: check now that they load and match.
  for (auto check : {api.cudnnGraphVersionCheck, api.cudnnOpsVersionCheck, api.cudnnCnnVersionCheck}) {
    dyn::cudnnStatus_t st = check();
    if (st != dyn::CUDNN_STATUS_SUCCESS) {
      s.info.reason = std::string("cuDNN at ") + s.info.path + " is incomplete: " + api.cudnnGetErrorString(st);
      return;
    }
  }
  s.info.loaded = s.ok = true;
}

void load_cublas() {
  Loaded& s = cublas_state();
  Opened o = open_first("SENET_CUBLAS_LIBRARY", {"libcublas.so.13", "libcublas.so.12", "libcublas.so"},
                        "cuBLAS (libcublas.so.13 or .12)");
  s.info = o.info;
  if (!o.handle) return;
  CublasApi& api = g_cublas;
  const char* names[] = {SENET_CUBLAS_FUNCTIONS(SENET_NAME)};
  void** slots[] = {SENET_CUBLAS_FUNCTIONS(SENET_SLOT)};
  void* found[sizeof(names) / sizeof(names[0])];
  if (!resolve(o.handle, s.info, names, found, sizeof(names) / sizeof(names[0]))) return;
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); ++i) *slots[i] = found[i];
  int major = 0, minor = 0, patch = 0;
  api.cublasGetProperty(MAJOR_VERSION, &major);
  api.cublasGetProperty(MINOR_VERSION, &minor);
  api.cublasGetProperty(PATCH_LEVEL, &patch);
  s.info.version = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  if (major < 12) {
    s.info.reason = "cuBLAS " + s.info.version + " found at " + s.info.path + ", senet needs 12 or 13";
    return;
  }
  s.info.loaded = s.ok = true;
}

#undef SENET_NAME
#undef SENET_SLOT

}  // namespace

const CudnnApi* cudnn_api() {
  std::call_once(cudnn_state().once, load_cudnn);
  return cudnn_state().ok ? &g_cudnn : nullptr;
}

const CublasApi* cublas_api() {
  std::call_once(cublas_state().once, load_cublas);
  return cublas_state().ok ? &g_cublas : nullptr;
}

const CudaLibraryInfo& cudnn_info() {
  cudnn_api();
  return cudnn_state().info;
}

const CudaLibraryInfo& cublas_info() {
  cublas_api();
  return cublas_state().info;
}

const CudnnApi& require_cudnn() {
  const CudnnApi* api = cudnn_api();
  if (!api) throw_error(ErrorCode::NoCudnn, "cuDNN is not available: " + cudnn_info().reason);
  return *api;
}

const CublasApi& require_cublas() {
  const CublasApi* api = cublas_api();
  if (!api) throw_error(ErrorCode::NoCublas, "cuBLAS is not available: " + cublas_info().reason);
  return *api;
}

}  // namespace senet::cuda
