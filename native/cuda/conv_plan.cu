// Descriptors and algorithm choice for each convolution shape (see conv_plan.h).
#include "cuda/conv_plan.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/device_memory.h"
#include "cuda/context.h"

namespace senet::cuda {

namespace {

// The most workspace an algorithm may ask for.
constexpr size_t kWorkspaceLimit = size_t{1} << 30;

bool env_is(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v && std::strcmp(v, value) == 0;
}

// Guards the chosen algorithms: the executor writes them, the JS thread reads them for a report.
std::mutex& choice_mutex() {
  static auto* m = new std::mutex();
  return *m;
}

// Deterministic runs take the heuristics' order unless measuring is asked for explicitly: which
// algorithm wins a measurement depends on timing noise, and different algorithms round differently.
const CudaConvSelection& selection() {
  static const CudaConvSelection s = [] {
    const bool deterministic = env_is("SENET_DETERMINISTIC", "1");
    const bool measured = deterministic ? env_is("SENET_CUDNN_BENCHMARK", "1") : !env_is("SENET_CUDNN_BENCHMARK", "0");
    return CudaConvSelection{measured, deterministic};
  }();
  return s;
}

// cuDNN's names without the common prefix, indexed by the enum's value (cudnn_cnn.h, cuDNN 9).
const char* algo_name(dyn::cudnnConvolutionFwdAlgo_t a) {
  static const char* names[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING",
                                "WINOGRAD", "WINOGRAD_NONFUSED"};
  return a >= 0 && a < dyn::CUDNN_CONVOLUTION_FWD_ALGO_COUNT ? names[a] : "?";
}
const char* algo_name(dyn::cudnnConvolutionBwdDataAlgo_t a) {
  static const char* names[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
  return a >= 0 && a < dyn::CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT ? names[a] : "?";
}
const char* algo_name(dyn::cudnnConvolutionBwdFilterAlgo_t a) {
  static const char* names[] = {"ALGO_0", "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED", "FFT_TILING"};
  return a >= 0 && a < dyn::CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT ? names[a] : "?";
}

// The FFT and Winograd algorithms: FMA math, but transforms that round more than a direct sum.
bool transform_based(dyn::cudnnConvolutionFwdAlgo_t a) { return a >= dyn::CUDNN_CONVOLUTION_FWD_ALGO_FFT; }
bool transform_based(dyn::cudnnConvolutionBwdDataAlgo_t a) { return a >= dyn::CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT; }
bool transform_based(dyn::cudnnConvolutionBwdFilterAlgo_t a) {
  return a == dyn::CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT || a >= dyn::CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD;
}

// Whether cuDNN's entry may be used: it ran, it fits, its math suits the precision (float32: FMA
// only and no transform-based algorithm, so results match the CPU; tf32: anything but a conversion
// to half; bf16 data: anything), and it is deterministic where that is asked.
template <class Algo>
bool qualifies(const dyn::AlgoPerf<Algo>& e, DType data, bool tf32, size_t workspace_limit) {
  if (e.status != dyn::CUDNN_STATUS_SUCCESS || e.memory > workspace_limit) return false;
  if (selection().deterministic && e.determinism != dyn::CUDNN_DETERMINISTIC) return false;
  if (data == DType::BF16) return true;
  if (tf32) return e.mathType != dyn::CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
  return e.mathType == dyn::CUDNN_FMA_MATH && !transform_based(e.algo);
}

template <class Algo>
ConvAlgo as_choice(const dyn::AlgoPerf<Algo>& e, float ms) {
  return {static_cast<int>(e.algo), e.mathType, e.memory, ms};
}

// Chooses one direction: the heuristics list every algorithm with the workspace it needs; then,
// unless measuring is off, find() times those that qualify in a workspace as large as the largest
// of them needs, and the fastest that qualifies wins. Without a measurement (off, the workspace
// could not be had, or nothing measured qualifies) the heuristics' first that qualifies is taken.
template <class Algo, class Heuristics, class Find>
ConvAlgo choose(const char* what, DType data, bool tf32, Heuristics&& heuristics, Find&& find) {
  constexpr int kMax = 16;
  dyn::AlgoPerf<Algo> perf[kMax];
  int found = 0;
  heuristics(kMax, &found, perf);
  size_t largest = 0;
  int first = -1;
  for (int i = 0; i < found; ++i) {
    if (!qualifies(perf[i], data, tf32, kWorkspaceLimit)) continue;
    if (first < 0) first = i;
    largest = std::max(largest, perf[i].memory);
  }
  if (first < 0)
    throw_error(ErrorCode::Library, std::string("cuDNN offers no ") + what + " convolution algorithm for this shape" +
                                        (selection().deterministic ? " that is deterministic (SENET_DETERMINISTIC=1)" : "") +
                                        " within 1 GiB of workspace");
  const ConvAlgo fallback = as_choice(perf[first], 0.f);  // a copy: find() rewrites perf
  if (!selection().measured) return fallback;
  // The workspace of the hungriest candidate (up to 1 GiB) only for the measurement, given back to
  // the pool right after: in the context's scratch, which never shrinks, it stayed the whole run.
  struct Temporary {
    void* ptr = nullptr;
    ~Temporary() { device_free(ptr); }
  } workspace;
  try {
    if (largest) workspace.ptr = device_alloc(largest);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::CudaOom) throw;
    return fallback;  // measuring is an optimisation: not worth failing the op for
  }
  found = 0;
  find(kMax, &found, perf, workspace.ptr, largest);
  for (int i = 0; i < found; ++i)
    if (qualifies(perf[i], data, tf32, largest)) return as_choice(perf[i], perf[i].time);
  return fallback;
}

std::string shape_key(const ConvBnParams& p, DType data, const Tensor& x, const Tensor& w) {
  std::string key = dtype_name(data);
  for (int64_t v : {x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), w.dim(1), w.dim(2), w.dim(3), int64_t{p.stride_h},
                    int64_t{p.stride_w}, int64_t{p.pad_h}, int64_t{p.pad_w}, int64_t{p.groups}, int64_t{p.tf32}})
    key += ":" + std::to_string(v);
  return key;
}

struct Planned {
  std::string shape;  // readable
  ConvPlan plan;
  template <class... A>
  explicit Planned(std::string s, A&&... a) : shape(std::move(s)), plan(std::forward<A>(a)...) {}
};

DescriptorCache<Planned>& plans() {
  static auto* cache = new DescriptorCache<Planned>();  // never destroyed: see conv_plan.h
  return *cache;
}

}  // namespace

ConvPlan::ConvPlan(const ConvBnParams& p, DType data_type, const Shape& xs, const Shape& ws, int64_t ho, int64_t wo)
    : data(data_type),
      x(nhwc_tensor(data_type, xs[0], xs[3], xs[1], xs[2])),
      y(nhwc_tensor(data_type, xs[0], ws[0], ho, wo)),
      w(nhwc_filter(data_type, ws[0], ws[3], ws[1], ws[2])),
      conv(convolution(p.pad_h, p.pad_w, p.stride_h, p.stride_w, p.groups, data_type, p.tf32)),
      tf32_(p.tf32),
      base_math_(convolution_math(data_type, p.tf32)) {}

void ConvPlan::set_math(dyn::cudnnMathType_t m) const {
  SENET_CUDNN_CHECK(require_cudnn().cudnnSetConvolutionMathType(conv.get(), m));
}

void ConvPlan::use(const ConvAlgo& a) const { set_math(a.math); }

// Chooses one direction's algorithm under the precision's math type, then sets the descriptor
// to the chosen entry's and records the workspace it needs there.
template <class Algo, class Heuristics, class Find, class WorkspaceSize>
void ConvPlan::settle(ConvAlgo& slot, const char* what, Heuristics&& heuristics, Find&& find,
                      WorkspaceSize&& workspace_size) {
  set_math(base_math_);
  ConvAlgo chosen = choose<Algo>(what, data, tf32_, heuristics, find);
  set_math(chosen.math);
  size_t size = 0;
  SENET_CUDNN_CHECK(workspace_size(static_cast<Algo>(chosen.algo), &size));
  chosen.workspace = std::max(chosen.workspace, size);
  std::lock_guard<std::mutex> lock(choice_mutex());
  slot = chosen;
}

void ConvPlan::choose_forward(const void* x_in, const void* w_in, void* y_out) {
  if (fwd.chosen()) return;
  const CudnnApi& api = require_cudnn();
  dyn::cudnnHandle_t h = Context::get().cudnn();
  settle<dyn::cudnnConvolutionFwdAlgo_t>(
      fwd, "forward",
      [&](int n, int* found, dyn::cudnnConvolutionFwdAlgoPerf_t* perf) {
        SENET_CUDNN_CHECK(api.cudnnGetConvolutionForwardAlgorithm_v7(h, x.get(), w.get(), conv.get(), y.get(), n, found, perf));
      },
      [&](int n, int* found, dyn::cudnnConvolutionFwdAlgoPerf_t* perf, void* ws, size_t bytes) {
        SENET_CUDNN_CHECK(api.cudnnFindConvolutionForwardAlgorithmEx(h, x.get(), x_in, w.get(), w_in, conv.get(), y.get(),
                                                                     y_out, n, found, perf, ws, bytes));
      },
      [&](dyn::cudnnConvolutionFwdAlgo_t a, size_t* size) {
        return api.cudnnGetConvolutionForwardWorkspaceSize(h, x.get(), w.get(), conv.get(), y.get(), a, size);
      });
}

void ConvPlan::choose_backward_data(const void* w_in, const void* dy_in, void* dx_out) {
  if (bwd_data.chosen()) return;
  const CudnnApi& api = require_cudnn();
  dyn::cudnnHandle_t h = Context::get().cudnn();
  settle<dyn::cudnnConvolutionBwdDataAlgo_t>(
      bwd_data, "backward data",
      [&](int n, int* found, dyn::cudnnConvolutionBwdDataAlgoPerf_t* perf) {
        SENET_CUDNN_CHECK(api.cudnnGetConvolutionBackwardDataAlgorithm_v7(h, w.get(), y.get(), conv.get(), x.get(), n, found,
                                                                          perf));
      },
      [&](int n, int* found, dyn::cudnnConvolutionBwdDataAlgoPerf_t* perf, void* ws, size_t bytes) {
        SENET_CUDNN_CHECK(api.cudnnFindConvolutionBackwardDataAlgorithmEx(h, w.get(), w_in, y.get(), dy_in, conv.get(),
                                                                          x.get(), dx_out, n, found, perf, ws, bytes));
      },
      [&](dyn::cudnnConvolutionBwdDataAlgo_t a, size_t* size) {
        return api.cudnnGetConvolutionBackwardDataWorkspaceSize(h, w.get(), y.get(), conv.get(), x.get(), a, size);
      });
}

void ConvPlan::choose_backward_filter(const void* x_in, const void* dy_in, void* dw_out) {
  if (bwd_filter.chosen()) return;
  const CudnnApi& api = require_cudnn();
  dyn::cudnnHandle_t h = Context::get().cudnn();
  settle<dyn::cudnnConvolutionBwdFilterAlgo_t>(
      bwd_filter, "backward filter",
      [&](int n, int* found, dyn::cudnnConvolutionBwdFilterAlgoPerf_t* perf) {
        SENET_CUDNN_CHECK(api.cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, x.get(), y.get(), conv.get(), w.get(), n,
                                                                            found, perf));
      },
      [&](int n, int* found, dyn::cudnnConvolutionBwdFilterAlgoPerf_t* perf, void* ws, size_t bytes) {
        SENET_CUDNN_CHECK(api.cudnnFindConvolutionBackwardFilterAlgorithmEx(h, x.get(), x_in, y.get(), dy_in, conv.get(),
                                                                            w.get(), dw_out, n, found, perf, ws, bytes));
      },
      [&](dyn::cudnnConvolutionBwdFilterAlgo_t a, size_t* size) {
        return api.cudnnGetConvolutionBackwardFilterWorkspaceSize(h, x.get(), y.get(), conv.get(), w.get(), a, size);
      });
}

CudaConvAlgorithms ConvPlan::describe(const std::string& shape) const {
  CudaConvAlgorithms d;
  d.shape = shape;
  if (fwd.chosen()) d.forward = algo_name(static_cast<dyn::cudnnConvolutionFwdAlgo_t>(fwd.algo));
  else if (fwd_by_gemm) d.forward = "SGEMM (cuBLAS)";
  if (bwd_data.chosen()) d.backward_data = algo_name(static_cast<dyn::cudnnConvolutionBwdDataAlgo_t>(bwd_data.algo));
  else if (bwd_data_by_gemm) d.backward_data = "SGEMM (cuBLAS)";
  if (bwd_filter.chosen())
    d.backward_filter = algo_name(static_cast<dyn::cudnnConvolutionBwdFilterAlgo_t>(bwd_filter.algo));
  d.workspace = std::max({fwd.workspace, bwd_data.workspace, bwd_filter.workspace});
  d.forward_ms = fwd.ms;
  d.backward_data_ms = bwd_data.ms;
  d.backward_filter_ms = bwd_filter.ms;
  d.forward_calls = fwd_calls;
  d.backward_data_calls = bwd_data_calls;
  d.backward_filter_calls = bwd_filter_calls;
  return d;
}

ConvPlan& conv_plan_for(const ConvBnParams& p, const Tensor& x, const Tensor& w, int64_t ho, int64_t wo) {
  to_int(x.numel(), "convolution: input elements");
  to_int(x.dim(0) * ho * wo * w.dim(0), "convolution: output elements");
  const DType data = x.dtype;
  return plans()
      .get(shape_key(p, data, x, w),
           [&] {
             const std::string readable =
                 std::to_string(x.dim(0)) + "x" + std::to_string(x.dim(1)) + "x" + std::to_string(x.dim(2)) + "x" +
                 std::to_string(x.dim(3)) + " -> " + std::to_string(w.dim(0)) + ", " + std::to_string(w.dim(1)) + "x" +
                 std::to_string(w.dim(2)) + " stride " + std::to_string(p.stride_h) + ", " + std::to_string(p.groups) +
                 (p.groups == 1 ? " group, " : " groups, ") + dtype_name(data) + (p.tf32 ? " (tf32)" : "");
             return std::make_unique<Planned>(readable, p, data, x.shape, w.shape, ho, wo);
           })
      .plan;
}

}  // namespace senet::cuda

namespace senet {

CudaConvSelection cuda_conv_selection() { return cuda::selection(); }

std::vector<CudaConvAlgorithms> cuda_conv_algorithms() {
  std::vector<CudaConvAlgorithms> out;
  cuda::plans().each([&](const std::string&, cuda::Planned& e) {
    std::lock_guard<std::mutex> lock(cuda::choice_mutex());
    out.push_back(e.plan.describe(e.shape));
  });
  std::sort(out.begin(), out.end(), [](const CudaConvAlgorithms& a, const CudaConvAlgorithms& b) { return a.shape < b.shape; });
  return out;
}

}  // namespace senet
