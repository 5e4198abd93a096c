// Convolution + batch norm + ReLU on the GPU. The convolution (grouped, NHWC) is cuDNN's, its
// algorithms chosen once per shape by cuDNN's heuristics and cached; batch norm and the ReLU are
// our kernels, because cuDNN's fused batch-norm forms are for half precision and its float32
// SPATIAL_PERSISTENT mode loses accuracy (PyTorch reports it on ResNeXt). Statistics are summed in
// double so that a large batch keeps float32 accuracy; the running statistics follow PyTorch.
#include <algorithm>
#include <string>

#include "cuda/context.h"
#include "cuda/descriptors.h"
#include "cuda/launch.h"
#include "ops/conv_bn.h"
#include "ops/dispatch.h"

namespace senet::cuda {

namespace {

// ---------------------------------------------------------------------------------------------
// Kernels. z, y, dy are (M, C) with M = N·Ho·Wo rows of C contiguous channels.

// Adds the two sums of the 8 threads of a (32, 8) block that share a channel and writes them as
// part blockIdx.y of that channel's partial sums.
__device__ void write_block_sums(double a, double b, int64_t ch, int64_t c, double* pa, double* pb) {
  __shared__ double s1[8][32], s2[8][32];
  s1[threadIdx.y][threadIdx.x] = a;
  s2[threadIdx.y][threadIdx.x] = b;
  __syncthreads();
  if (threadIdx.y == 0 && ch < c) {
    for (int k = 1; k < 8; ++k) {
      a += s1[k][threadIdx.x];
      b += s2[k][threadIdx.x];
    }
    pa[blockIdx.y * c + ch] = a;
    pb[blockIdx.y * c + ch] = b;
  }
}

// Partial per-channel sums of z and z² over `rows` rows: block (32, 8), grid (ceil(C/32), parts).
__global__ void stats_partial_kernel(const float* z, int64_t m, int64_t c, int64_t rows, double* psum, double* psq) {
  const int64_t ch = blockIdx.x * int64_t{32} + threadIdx.x;
  const int64_t row0 = blockIdx.y * rows;
  double a = 0, b = 0;
  if (ch < c) {
    for (int64_t r = row0 + threadIdx.y; r < m && r < row0 + rows; r += 8) {
      const double v = z[r * c + ch];
      a += v;
      b += v * v;
    }
  }
  write_block_sums(a, b, ch, c, psum, psq);
}

// Per channel: batch mean and (biased) variance, the running statistics' update, and the affine
// form y = z · scale + shift of the normalisation.
__global__ void stats_finalize_kernel(const double* psum, const double* psq, int parts, int64_t m, int64_t c,
                                      const float* gamma, const float* beta, float eps, float momentum,
                                      float* save_mean, float* save_var, float* running_mean, float* running_var,
                                      float* scale, float* shift) {
  for (int64_t ch = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; ch < c; ch += int64_t{gridDim.x} * blockDim.x) {
    double a = 0, b = 0;
    for (int p = 0; p < parts; ++p) {
      a += psum[p * c + ch];
      b += psq[p * c + ch];
    }
    const double mean = a / static_cast<double>(m);
    const double d = b / static_cast<double>(m) - mean * mean;
    const double var = d < 0.0 ? 0.0 : d;  // clamps rounding below 0, lets a NaN through
    save_mean[ch] = static_cast<float>(mean);
    save_var[ch] = static_cast<float>(var);
    const double unbiased = var * static_cast<double>(m) / static_cast<double>(m - 1);
    running_mean[ch] = (1.f - momentum) * running_mean[ch] + momentum * static_cast<float>(mean);
    running_var[ch] = (1.f - momentum) * running_var[ch] + momentum * static_cast<float>(unbiased);
    const double s = gamma[ch] / sqrt(var + eps);
    scale[ch] = static_cast<float>(s);
    shift[ch] = static_cast<float>(beta[ch] - mean * s);
  }
}

// Inference: the affine form from the running statistics.
__global__ void running_affine_kernel(int64_t c, const float* gamma, const float* beta, const float* running_mean,
                                      const float* running_var, float eps, float* scale, float* shift) {
  for (int64_t ch = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; ch < c; ch += int64_t{gridDim.x} * blockDim.x) {
    const float s = gamma[ch] * rsqrtf(running_var[ch] + eps);
    scale[ch] = s;
    shift[ch] = beta[ch] - running_mean[ch] * s;
  }
}

// y = act(z · scale[c] + shift[c]); four channels per thread when C is a multiple of 4.
__global__ void affine_kernel(const float* z, float* y, int64_t total, int64_t c, const float* scale,
                              const float* shift, bool relu) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ch = i % c;
    const float v = z[i] * scale[ch] + shift[ch];
    y[i] = relu && v < 0.f ? 0.f : v;  // NaN passes, as in PyTorch
  }
}

__global__ void affine_kernel4(const float4* z, float4* y, int64_t total4, int64_t c, const float* scale,
                               const float* shift, bool relu) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total4; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ch = (i * 4) % c;
    float4 v = z[i];
    v.x = v.x * scale[ch] + shift[ch];
    v.y = v.y * scale[ch + 1] + shift[ch + 1];
    v.z = v.z * scale[ch + 2] + shift[ch + 2];
    v.w = v.w * scale[ch + 3] + shift[ch + 3];
    if (relu) {
      v.x = v.x < 0.f ? 0.f : v.x;
      v.y = v.y < 0.f ? 0.f : v.y;
      v.z = v.z < 0.f ? 0.f : v.z;
      v.w = v.w < 0.f ? 0.f : v.w;
    }
    y[i] = v;
  }
}

// Backward partial sums per channel of g and g · (z − mean), g = dy through the ReLU's mask.
__global__ void grad_partial_kernel(const float* dy, const float* y, const float* z, const float* mean, int64_t m,
                                    int64_t c, int64_t rows, bool relu, double* pg, double* pgz) {
  const int64_t ch = blockIdx.x * int64_t{32} + threadIdx.x;
  const int64_t row0 = blockIdx.y * rows;
  double a = 0, b = 0;
  if (ch < c) {
    const float mu = mean[ch];
    for (int64_t r = row0 + threadIdx.y; r < m && r < row0 + rows; r += 8) {
      const int64_t i = r * c + ch;
      const float g = relu && !(y[i] > 0.f) ? 0.f : dy[i];
      a += g;
      b += static_cast<double>(g) * (z[i] - mu);
    }
  }
  write_block_sums(a, b, ch, c, pg, pgz);
}

// dgamma, dbeta, and dz = k · g − k2 · z + off, the training-mode batch-norm gradient:
// dz = γ·invstd·(g − mean(g) − x̂·mean(g·x̂)) with x̂ = (z − μ)·invstd.
__global__ void grad_finalize_kernel(const double* pg, const double* pgz, int parts, int64_t m, int64_t c,
                                     const float* gamma, const float* mean, const float* var, float eps,
                                     float* dgamma, float* dbeta, float* k, float* k2, float* off) {
  for (int64_t ch = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; ch < c; ch += int64_t{gridDim.x} * blockDim.x) {
    double sg = 0, sgz = 0;
    for (int p = 0; p < parts; ++p) {
      sg += pg[p * c + ch];
      sgz += pgz[p * c + ch];
    }
    const double invstd = 1.0 / sqrt(static_cast<double>(var[ch]) + eps);
    const double dg = sgz * invstd;  // Σ g·x̂
    dgamma[ch] = static_cast<float>(dg);
    dbeta[ch] = static_cast<float>(sg);
    const double kk = gamma[ch] * invstd;
    const double kk2 = kk * invstd * dg / static_cast<double>(m);
    k[ch] = static_cast<float>(kk);
    k2[ch] = static_cast<float>(kk2);
    off[ch] = static_cast<float>(-kk * sg / static_cast<double>(m) + kk2 * mean[ch]);
  }
}

__global__ void grad_apply_kernel(const float* dy, const float* y, const float* z, float* dz, int64_t total, int64_t c,
                                  bool relu, const float* k, const float* k2, const float* off) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ch = i % c;
    const float g = relu && !(y[i] > 0.f) ? 0.f : dy[i];
    dz[i] = k[ch] * g - k2[ch] * z[i] + off[ch];
  }
}

// ---------------------------------------------------------------------------------------------
// The convolution's cuDNN plan for one shape.

// The most workspace an algorithm may ask for; cuDNN's heuristics order the rest best first.
constexpr size_t kWorkspaceLimit = size_t{1} << 30;

struct ConvPlan {
  TensorDescriptor x, y;
  FilterDescriptor w;
  ConvolutionDescriptor conv;
  dyn::cudnnConvolutionFwdAlgo_t fwd{};
  dyn::cudnnConvolutionBwdDataAlgo_t bwd_data{};
  dyn::cudnnConvolutionBwdFilterAlgo_t bwd_filter{};
  size_t fwd_ws = 0, bwd_data_ws = 0, bwd_filter_ws = 0;
  bool tf32 = false;

  ConvPlan(const ConvBnParams& p, const Shape& xs, const Shape& ws, int64_t ho, int64_t wo)
      : x(xs[0], xs[3], xs[1], xs[2]),
        y(xs[0], ws[0], ho, wo),
        w(ws[0], ws[3], ws[1], ws[2]),
        conv(p.pad_h, p.pad_w, p.stride_h, p.stride_w, p.groups, p.tf32),
        tf32(p.tf32) {
    const CudnnApi& api = require_cudnn();
    dyn::cudnnHandle_t h = Context::get().cudnn();
    int found = 0;
    dyn::cudnnConvolutionFwdAlgoPerf_t f[dyn::CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    SENET_CUDNN_CHECK(api.cudnnGetConvolutionForwardAlgorithm_v7(h, x.get(), w.get(), conv.get(), y.get(),
                                                                 dyn::CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, f));
    fwd = pick(f, found, &fwd_ws, "forward", tf32);
    size_t size = 0;
    SENET_CUDNN_CHECK(api.cudnnGetConvolutionForwardWorkspaceSize(h, x.get(), w.get(), conv.get(), y.get(), fwd, &size));
    fwd_ws = std::max(fwd_ws, size);
    dyn::cudnnConvolutionBwdDataAlgoPerf_t d[dyn::CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    SENET_CUDNN_CHECK(api.cudnnGetConvolutionBackwardDataAlgorithm_v7(h, w.get(), y.get(), conv.get(), x.get(),
                                                                      dyn::CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &found, d));
    bwd_data = pick(d, found, &bwd_data_ws, "backward data", tf32);
    SENET_CUDNN_CHECK(api.cudnnGetConvolutionBackwardDataWorkspaceSize(h, w.get(), y.get(), conv.get(), x.get(), bwd_data, &size));
    bwd_data_ws = std::max(bwd_data_ws, size);
    dyn::cudnnConvolutionBwdFilterAlgoPerf_t g[dyn::CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    SENET_CUDNN_CHECK(api.cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, x.get(), y.get(), conv.get(), w.get(),
                                                                        dyn::CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &found, g));
    bwd_filter = pick(g, found, &bwd_filter_ws, "backward filter", tf32);
    SENET_CUDNN_CHECK(api.cudnnGetConvolutionBackwardFilterWorkspaceSize(h, x.get(), y.get(), conv.get(), w.get(), bwd_filter, &size));
    bwd_filter_ws = std::max(bwd_filter_ws, size);
  }

  template <class Algo>
  static Algo pick(const dyn::AlgoPerf<Algo>* perf, int count, size_t* workspace, const char* what, bool tf32) {
    for (int i = 0; i < count; ++i) {
      // FMA math only, unless TF32 is allowed; never an entry that converts to a narrower type.
      const bool math = perf[i].mathType == dyn::CUDNN_FMA_MATH ||
                        (tf32 && perf[i].mathType != dyn::CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
      if (perf[i].status == dyn::CUDNN_STATUS_SUCCESS && math && perf[i].memory <= kWorkspaceLimit) {
        *workspace = perf[i].memory;
        return perf[i].algo;
      }
    }
    throw_error(ErrorCode::Library, std::string("cuDNN offers no ") + what +
                                        " convolution algorithm for this shape within 1 GiB of workspace");
  }
};

ConvPlan& plan_for(const ConvBnParams& p, const Tensor& x, const Tensor& w, int64_t ho, int64_t wo) {
  static auto* cache = new DescriptorCache<ConvPlan>();  // never destroyed: see pool.cu
  to_int(x.numel(), "convolution: input elements");
  to_int(x.dim(0) * ho * wo * w.dim(0), "convolution: output elements");
  std::string key;
  for (int64_t v : {x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), w.dim(1), w.dim(2), w.dim(3), int64_t{p.stride_h},
                    int64_t{p.stride_w}, int64_t{p.pad_h}, int64_t{p.pad_w}, int64_t{p.groups}, int64_t{p.tf32}})
    key += std::to_string(v) + ":";
  return cache->get(key, [&] { return std::make_unique<ConvPlan>(p, x.shape, w.shape, ho, wo); });
}

// One scratch allocation carved into aligned pieces (the context's scratch is reused by the next op).
class Carver {
 public:
  explicit Carver(size_t total) : base_(static_cast<char*>(Context::get().scratch(total))) {}
  static size_t round(size_t bytes) { return (bytes + 255) / 256 * 256; }
  template <class T>
  T* take(size_t count) {
    T* p = reinterpret_cast<T*>(base_ + used_);
    used_ += round(count * sizeof(T));
    return p;
  }

 private:
  char* base_;
  size_t used_ = 0;
};

// How the M rows are split for the statistics: at most 4096 parts (a grid's y dimension and the
// finalize kernels' serial loop stay small), at least 256 rows a part, a multiple of 8 rows.
struct RowSplit {
  int parts;
  int64_t rows;
};

RowSplit row_split(int64_t m) {
  const int64_t parts = std::min<int64_t>((m + 255) / 256, 4096);
  const int64_t rows = ((m + parts - 1) / parts + 7) / 8 * 8;
  return {static_cast<int>((m + rows - 1) / rows), rows};
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

void conv_bn_forward(const ConvBnForward& a) {
  const ConvBnParams& p = a.p;
  const Tensor &x = a.x, &w = a.w, &gamma = a.gamma, &beta = a.beta, &y = a.y;
  const Tensor &running_mean = a.running_mean, &running_var = a.running_var;
  const Tensor *z = opt(a.z), *save_mean = opt(a.save_mean), *save_var = opt(a.save_var);
  const int64_t n = x.dim(0), c = w.dim(0), ho = y.dim(1), wo = y.dim(2), m = n * ho * wo, total = m * c;
  Context& ctx = Context::get();
  cudaStream_t s = ctx.stream();
  ConvPlan& plan = plan_for(p, x, w, ho, wo);
  const RowSplit split = row_split(m);
  const int parts = split.parts;
  const size_t conv_ws = plan.fwd_ws;
  const size_t z_scratch = z ? 0 : static_cast<size_t>(total);
  Carver carve(Carver::round(conv_ws) + Carver::round(z_scratch * 4) + 2 * Carver::round(parts * c * 8) +
               2 * Carver::round(c * 4) + 2 * Carver::round(c * 4));
  void* workspace = carve.take<char>(conv_ws);
  float* zp = z ? z->data<float>() : carve.take<float>(z_scratch);  // (M, C) conv output
  const float one = 1.f, zero = 0.f;
  SENET_CUDNN_CHECK(require_cudnn().cudnnConvolutionForward(ctx.cudnn(), &one, plan.x.get(), x.raw(), plan.w.get(), w.raw(),
                                                            plan.conv.get(), plan.fwd, workspace, conv_ws, &zero,
                                                            plan.y.get(), zp));
  float* scale = carve.take<float>(c);
  float* shift = carve.take<float>(c);
  if (p.training) {
    double* psum = carve.take<double>(static_cast<size_t>(parts) * c);
    double* psq = carve.take<double>(static_cast<size_t>(parts) * c);
    stats_partial_kernel<<<dim3(static_cast<unsigned>((c + 31) / 32), static_cast<unsigned>(parts)), dim3(32, 8), 0, s>>>(
        zp, m, c, split.rows, psum, psq);
    SENET_CUDA_LAUNCHED();
    stats_finalize_kernel<<<blocks_for(c), kThreads, 0, s>>>(psum, psq, parts, m, c, gamma.data<float>(), beta.data<float>(),
                                                             p.eps, p.momentum, save_mean->data<float>(), save_var->data<float>(),
                                                             running_mean.data<float>(), running_var.data<float>(), scale, shift);
  } else {
    running_affine_kernel<<<blocks_for(c), kThreads, 0, s>>>(c, gamma.data<float>(), beta.data<float>(),
                                                             running_mean.data<float>(), running_var.data<float>(), p.eps,
                                                             scale, shift);
  }
  SENET_CUDA_LAUNCHED();
  // Four channels a thread where C allows it and both buffers are 16-byte aligned (a view at an
  // odd offset is not).
  if (c % 4 == 0 && aligned16(zp) && aligned16(y.raw())) {
    affine_kernel4<<<blocks_for(total / 4), kThreads, 0, s>>>(reinterpret_cast<const float4*>(zp),
                                                              reinterpret_cast<float4*>(y.data<float>()), total / 4, c,
                                                              scale, shift, p.relu);
  } else {
    affine_kernel<<<blocks_for(total), kThreads, 0, s>>>(zp, y.data<float>(), total, c, scale, shift, p.relu);
  }
  SENET_CUDA_LAUNCHED();
}

void conv_bn_backward(const ConvBnBackward& a) {
  const ConvBnParams& p = a.p;
  const Tensor &dy = a.dy, &x = a.x, &w = a.w, &gamma = a.gamma, &z = a.z, &y = a.y;
  const Tensor &save_mean = a.save_mean, &save_var = a.save_var, &dw = a.dw, &dgamma = a.dgamma, &dbeta = a.dbeta;
  const Tensor* dx = opt(a.dx);
  const int64_t n = x.dim(0), c = w.dim(0), ho = y.dim(1), wo = y.dim(2), m = n * ho * wo, total = m * c;
  Context& ctx = Context::get();
  cudaStream_t s = ctx.stream();
  ConvPlan& plan = plan_for(p, x, w, ho, wo);
  const RowSplit split = row_split(m);
  const int parts = split.parts;
  const size_t ws = std::max(dx ? plan.bwd_data_ws : 0, plan.bwd_filter_ws);
  Carver carve(Carver::round(ws) + Carver::round(static_cast<size_t>(total) * 4) + 2 * Carver::round(parts * c * 8) +
               3 * Carver::round(c * 4));
  void* workspace = carve.take<char>(ws);
  float* dz = carve.take<float>(static_cast<size_t>(total));  // (M, C) gradient at the conv's output
  double* pg = carve.take<double>(static_cast<size_t>(parts) * c);
  double* pgz = carve.take<double>(static_cast<size_t>(parts) * c);
  float* k = carve.take<float>(c);
  float* k2 = carve.take<float>(c);
  float* off = carve.take<float>(c);
  grad_partial_kernel<<<dim3(static_cast<unsigned>((c + 31) / 32), static_cast<unsigned>(parts)), dim3(32, 8), 0, s>>>(
      dy.data<float>(), y.data<float>(), z.data<float>(), save_mean.data<float>(), m, c, split.rows, p.relu, pg, pgz);
  SENET_CUDA_LAUNCHED();
  grad_finalize_kernel<<<blocks_for(c), kThreads, 0, s>>>(pg, pgz, parts, m, c, gamma.data<float>(), save_mean.data<float>(),
                                                          save_var.data<float>(), p.eps, dgamma.data<float>(),
                                                          dbeta.data<float>(), k, k2, off);
  SENET_CUDA_LAUNCHED();
  grad_apply_kernel<<<blocks_for(total), kThreads, 0, s>>>(dy.data<float>(), y.data<float>(), z.data<float>(), dz, total, c,
                                                           p.relu, k, k2, off);
  SENET_CUDA_LAUNCHED();
  const CudnnApi& api = require_cudnn();
  const float one = 1.f, zero = 0.f;
  if (dx) {
    SENET_CUDNN_CHECK(api.cudnnConvolutionBackwardData(ctx.cudnn(), &one, plan.w.get(), w.raw(), plan.y.get(), dz,
                                                       plan.conv.get(), plan.bwd_data, workspace, ws, &zero, plan.x.get(),
                                                       dx->raw()));
  }
  SENET_CUDNN_CHECK(api.cudnnConvolutionBackwardFilter(ctx.cudnn(), &one, plan.x.get(), x.raw(), plan.y.get(), dz,
                                                       plan.conv.get(), plan.bwd_filter, workspace, ws, &zero, plan.w.get(),
                                                       dw.raw()));
}

}  // namespace senet::cuda
