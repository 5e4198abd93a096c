// Module entry: the Tensor class, tensor creation, build information, and the ops.
#include <dnnl.hpp>

#include <atomic>
#include <cstring>

#include "addon/addon_data.h"
#include "addon/convert.h"
#include "addon/op_call.h"
#include "addon/tensor_wrap.h"
#include "core/cuda_probe.h"
#include "ops/precision.h"
#include "core/device_memory.h"
#include "core/executor.h"
#include "cpu/threads.h"
#include "ops/tensor_ops.h"

namespace senet::addon {

namespace {

Napi::Value empty_tensor(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Args args(info, "empty");
    Shape shape = args.shape(0, "shape");
    DType dt = args.dtype(1, "dtype");
    Device dev = args.device(2, "device");
    return TensorWrap::create(info.Env(), allocate(info.Env(), shape, dt, dev), false);
  });
}

Napi::Value from_typed_array(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Args args(info, "fromTypedArray");
    if (info.Length() < 1 || !info[0].IsTypedArray())
      args.fail(ErrorCode::Argument, "data: expected a typed array, received " +
                                         describe(info.Length() ? info[0] : info.Env().Undefined()));
    Napi::TypedArray a = info[0].As<Napi::TypedArray>();
    DType dt;
    if (!typed_array_dtype(a, &dt))
      args.fail(ErrorCode::DType, "data: expected a Float32Array, BigInt64Array, Int32Array or Uint8Array");
    Shape shape = args.shape(1, "shape");
    Device dev = args.device(2, "device");
    if (shape_numel(shape) != static_cast<int64_t>(a.ElementLength()))
      args.fail(ErrorCode::Shape, "shape " + shape_str(shape) + " holds " + std::to_string(shape_numel(shape)) +
                                      " elements, but data has " + std::to_string(a.ElementLength()));
    Tensor t = allocate(info.Env(), shape, dt, dev);
    const char* src = static_cast<const char*>(a.ArrayBuffer().Data()) + a.ByteOffset();
    // A new host tensor is seen by no queued op yet: it is filled here, at once.
    if (dev == Device::Cpu) {
      if (a.ByteLength()) std::memcpy(t.raw(), src, a.ByteLength());
    } else {
      upload(t, std::vector<char>(src, src + a.ByteLength()));
    }
    return TensorWrap::create(info.Env(), std::move(t), false);
  });
}

Napi::Value build_info_body(const Napi::CallbackInfo& info);

Napi::Value build_info(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return build_info_body(info); });
}

Napi::Value build_info_body(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const dnnl_version_t* v = dnnl::version();
  o.Set("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  o.Set("onednnCpuRuntime", v->cpu_runtime == DNNL_RUNTIME_OMP ? "openmp" : "other");
  const CpuBf16 bf16 = cpu_bf16();
  o.Set("cpuIsa", bf16.isa);
  o.Set("cpuBf16", bf16.fast);
  o.Set("cpuBf16Reason", bf16.reason);
#ifdef SENET_WITH_CUDA
  o.Set("cudaBuilt", true);
#else
  o.Set("cudaBuilt", false);
#endif
  o.Set("napiVersion", NAPI_VERSION);
  return o;
}

Napi::Object library_info(Napi::Env env, const CudaLibraryInfo& lib) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("loaded", lib.loaded);
  o.Set("path", lib.path);
  o.Set("version", lib.version);
  o.Set("reason", lib.reason);
  Napi::Array tried = Napi::Array::New(env, lib.tried.size());
  for (size_t i = 0; i < lib.tried.size(); ++i) tried.Set(static_cast<uint32_t>(i), lib.tried[i]);
  o.Set("tried", tried);
  return o;
}

Napi::Value cuda_probe_body(const Napi::CallbackInfo& info);

Napi::Value cuda_probe(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return cuda_probe_body(info); });
}

Napi::Value cuda_probe_body(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CudaProbe p = probe_cuda();
  Napi::Object o = Napi::Object::New(env);
  o.Set("built", p.built);
  o.Set("available", p.available);
  o.Set("reason", p.reason);
  o.Set("driverVersion", p.driver_version);
  o.Set("runtimeVersion", p.runtime_version);
  o.Set("selectedDevice", p.selected_device);
  Napi::Array devices = Napi::Array::New(env, p.devices.size());
  for (size_t i = 0; i < p.devices.size(); ++i) {
    const CudaDeviceInfo& d = p.devices[i];
    Napi::Object dev = Napi::Object::New(env);
    dev.Set("index", d.index);
    dev.Set("name", d.name);
    dev.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
    dev.Set("totalMemory", static_cast<double>(d.total_memory));
    devices.Set(static_cast<uint32_t>(i), dev);
  }
  o.Set("devices", devices);
  o.Set("cudnn", library_info(env, p.cudnn));
  o.Set("cublas", library_info(env, p.cublas));
  const CudaConvSelection sel = cuda_conv_selection();
  Napi::Object conv = Napi::Object::New(env);
  conv.Set("measured", sel.measured);
  conv.Set("deterministic", sel.deterministic);
  o.Set("convolutionAlgorithms", conv);
  return o;
}

// The cuDNN algorithms chosen so far, one entry per convolution shape.
Napi::Value conv_algorithms(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const std::vector<CudaConvAlgorithms> list = cuda_conv_algorithms();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) {
      Napi::Object e = Napi::Object::New(env);
      e.Set("shape", list[i].shape);
      e.Set("forward", list[i].forward);
      e.Set("backwardData", list[i].backward_data);
      e.Set("backwardFilter", list[i].backward_filter);
      e.Set("workspace", static_cast<double>(list[i].workspace));
      e.Set("forwardMs", list[i].forward_ms);
      e.Set("backwardDataMs", list[i].backward_data_ms);
      e.Set("backwardFilterMs", list[i].backward_filter_ms);
      e.Set("forwardCalls", static_cast<double>(list[i].forward_calls));
      e.Set("backwardDataCalls", static_cast<double>(list[i].backward_data_calls));
      e.Set("backwardFilterCalls", static_cast<double>(list[i].backward_filter_calls));
      out.Set(static_cast<uint32_t>(i), e);
    }
    return out;
  });
}

Napi::Value select_device(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Args args(info, "selectCudaDevice");
    double index = args.number(0, "index");
    if (index != static_cast<double>(static_cast<int>(index)))
      args.fail(ErrorCode::Argument, "index: expected an integer, received " + describe(info[0]));
    select_cuda_device(static_cast<int>(index));
    return info.Env().Undefined();
  });
}

Napi::Value synchronize_device(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Args args(info, "synchronize");
    synchronize(args.device(0, "device"));
    return info.Env().Undefined();
  });
}

Napi::Value memory_body(const Napi::CallbackInfo& info);

Napi::Value memory(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return memory_body(info); });
}

Napi::Value memory_body(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MemoryStats m = memory_stats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("allocations", static_cast<double>(m.allocations));
  o.Set("cpuBytes", static_cast<double>(m.cpu_bytes));
  o.Set("cudaBytes", static_cast<double>(m.cuda_bytes));
  o.Set("cudaPoolBytes", static_cast<double>(device_pool_bytes()));
  o.Set("pendingReads", addon_data(env).pending_reads);
  return o;
}

Napi::Value set_num_threads(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Args args(info, "setNumThreads");
    double n = args.number(0, "n");
    if (!(n >= 1 && n <= 4096 && static_cast<int>(n) == n))
      args.fail(ErrorCode::Argument, "n: expected an integer in [1, 4096], received " + describe(info[0]));
    cpu::set_num_threads(static_cast<int>(n));
    return info.Env().Undefined();
  });
}

Napi::Value reset_num_threads(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    cpu::reset_num_threads();
    return info.Env().Undefined();
  });
}

Napi::Value get_num_threads_body(const Napi::CallbackInfo& info);

Napi::Value get_num_threads(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return get_num_threads_body(info); });
}

Napi::Value get_num_threads_body(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), cpu::num_threads());
}

Napi::Value threads_report(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const cpu::ThreadsReport r = cpu::threads_report();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("requested", r.requested);
    o.Set("active", r.active);
    o.Set("adaptive", r.adaptive);
    o.Set("quotaCores", r.quota_cores);
    return o;
  });
}

Napi::Value set_garbage_collector(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Args args(info, "setGarbageCollector");
    if (info.Length() < 1 || !info[0].IsFunction())
      args.fail(ErrorCode::Argument, "gc: expected a function, received " + describe(info.Length() ? info[0] : info.Env().Undefined()));
    addon_data(info.Env()).collect_garbage = Napi::Persistent(info[0].As<Napi::Function>());
    return info.Env().Undefined();
  });
}

// Environments (the main thread and each worker thread) using the addon; the executors stop
// when the last one goes, before the process's static destructors run.
std::atomic<int> g_environments{0};

std::atomic<uint64_t> g_next_owner{1};

void cleanup_environment(void* arg) {
  auto* data = static_cast<AddonData*>(arg);
  // A worker that ends (or is terminated) leaves no queued work behind for the others to wait on.
  Executor::drop_owner(data->owner);
  data->completions.Release();
  if (--g_environments == 0) Executor::shutdown_all();
}

}  // namespace

AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  Napi::Function ctor = TensorWrap::define(env);
  data->tensor_ctor = Napi::Persistent(ctor);
  data->completions = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                                    "senet.read", 0, 1);
  data->completions.Unref(env);
  data->owner = g_next_owner++;
  Executor::set_thread_owner(data->owner);
  env.SetInstanceData<AddonData>(data);
  ++g_environments;
  napi_add_env_cleanup_hook(env, cleanup_environment, data);
  exports.Set("Tensor", ctor);
  exports.Set("empty", Napi::Function::New<empty_tensor>(env, "empty"));
  exports.Set("fromTypedArray", Napi::Function::New<from_typed_array>(env, "fromTypedArray"));
  exports.Set("buildInfo", Napi::Function::New<build_info>(env, "buildInfo"));
  exports.Set("cudaProbe", Napi::Function::New<cuda_probe>(env, "cudaProbe"));
  exports.Set("cudaConvAlgorithms", Napi::Function::New<conv_algorithms>(env, "cudaConvAlgorithms"));
  exports.Set("selectCudaDevice", Napi::Function::New<select_device>(env, "selectCudaDevice"));
  exports.Set("synchronize", Napi::Function::New<synchronize_device>(env, "synchronize"));
  exports.Set("memory", Napi::Function::New<memory>(env, "memory"));
  exports.Set("setNumThreads", Napi::Function::New<set_num_threads>(env, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New<get_num_threads>(env, "getNumThreads"));
  exports.Set("resetNumThreads", Napi::Function::New<reset_num_threads>(env, "resetNumThreads"));
  exports.Set("threadsReport", Napi::Function::New<threads_report>(env, "threadsReport"));
  exports.Set("setGarbageCollector", Napi::Function::New<set_garbage_collector>(env, "setGarbageCollector"));
  register_ops(env, exports);
  return exports;
}

}  // namespace senet::addon

static Napi::Object init_module(Napi::Env env, Napi::Object exports) {
  return senet::addon::init(env, exports);
}

// Registered by hand rather than with NODE_API_MODULE, to choose the Node-API version the module
// declares. The code uses Node-API 8's functions only; with SENET_GC_FINALIZERS (the default) it
// declares the experimental version, whose effect it relies on is that Node runs finalisers
// inside the garbage collector: a tensor nobody disposed then frees its memory during a
// synchronous loop, not only when the loop ends (TensorWrap's destructor keeps to what a
// finaliser may do there). Without it, finalisers wait for the event loop to turn.
#ifdef SENET_GC_FINALIZERS
#define SENET_MODULE_API_VERSION NAPI_VERSION_EXPERIMENTAL
#else
#define SENET_MODULE_API_VERSION NAPI_VERSION
#endif

EXTERN_C_START
NAPI_MODULE_EXPORT int32_t NODE_API_MODULE_GET_API_VERSION(void) { return SENET_MODULE_API_VERSION; }
NAPI_MODULE_EXPORT napi_value NAPI_MODULE_INITIALIZER(napi_env env, napi_value exports) {
  return Napi::RegisterModule(env, exports, init_module);
}
EXTERN_C_END
