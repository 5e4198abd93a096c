// Module entry: the Tensor class, tensor creation, build information, and the ops.
#include <dnnl.hpp>

#include "addon/addon_data.h"
#include "addon/convert.h"
#include "addon/tensor_wrap.h"
#include "core/cuda_probe.h"
#include "ops/tensor_ops.h"

namespace senet::addon {

namespace {

Napi::Value empty_tensor(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Args args(info, "empty");
    Shape shape = args.shape(0, "shape");
    DType dt = args.dtype(1, "dtype");
    Device dev = args.device(2, "device");
    return TensorWrap::create(info.Env(), empty(shape, dt, dev), false);
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
    Tensor t = empty(shape, dt, dev);
    copy_from_host(t, static_cast<const char*>(a.ArrayBuffer().Data()) + a.ByteOffset(), a.ByteLength());
    return TensorWrap::create(info.Env(), std::move(t), false);
  });
}

Napi::Value build_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const dnnl_version_t* v = dnnl::version();
  o.Set("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  o.Set("onednnCpuRuntime", v->cpu_runtime == DNNL_RUNTIME_OMP ? "openmp" : "other");
  const char* isa = "unknown";
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: isa = "sse41"; break;
    case dnnl::cpu_isa::avx: isa = "avx"; break;
    case dnnl::cpu_isa::avx2: isa = "avx2"; break;
    case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
    default: break;
  }
  o.Set("cpuIsa", isa);
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

Napi::Value cuda_probe(const Napi::CallbackInfo& info) {
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
  return o;
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

Napi::Value synchronize(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    cuda_synchronize();
    return info.Env().Undefined();
  });
}

}  // namespace

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  Napi::Function ctor = TensorWrap::define(env);
  data->tensor_ctor = Napi::Persistent(ctor);
  env.SetInstanceData<AddonData>(data);
  exports.Set("Tensor", ctor);
  exports.Set("empty", Napi::Function::New<empty_tensor>(env, "empty"));
  exports.Set("fromTypedArray", Napi::Function::New<from_typed_array>(env, "fromTypedArray"));
  exports.Set("buildInfo", Napi::Function::New<build_info>(env, "buildInfo"));
  exports.Set("cudaProbe", Napi::Function::New<cuda_probe>(env, "cudaProbe"));
  exports.Set("selectCudaDevice", Napi::Function::New<select_device>(env, "selectCudaDevice"));
  exports.Set("cudaSynchronize", Napi::Function::New<synchronize>(env, "cudaSynchronize"));
  register_ops(env, exports);
  return exports;
}

}  // namespace senet::addon

static Napi::Object init_module(Napi::Env env, Napi::Object exports) {
  return senet::addon::init(env, exports);
}

NODE_API_MODULE(senet_addon, init_module)
