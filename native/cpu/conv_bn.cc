// Convolution + batch norm + ReLU on oneDNN. Activations stay NHWC; weights arrive (Cout, kH, kW,
// Cin / groups) and are reordered into whatever layout the chosen convolution prefers — except for
// 1x1 stride-1 convolutions (two thirds of SE-ResNeXt's), which in NHWC are plain matrix products
// and run as oneDNN's sgemm on the weights as they are: backward always, forward on small maps
// (kGemmForwardRows). That saves the weight reorders (three per layer and step otherwise: a
// quarter of oneDNN's time on 28x28 images). SENET_ONEDNN_CONV1X1=1 turns this off (comparisons).
// Inference batch norm (+ ReLU) is one loop of our own.
//
// Mixed precision (x, y, z, dy, dx in bf16, w the bf16 copy of the weights): every convolution
// runs on oneDNN's bf16 kernels with float32 accumulation, and dw comes out in float32 (the master
// weights' gradient). The forward convolution writes float32 into scratch and batch norm is our
// own loop over it: statistics and y from the unrounded output, z rounded to bf16 only where it is
// kept for backward. (Rounding z before its statistics, as oneDNN's bf16 batch norm would, doubled
// the error of training-mode logits on small batches, where few values make each statistic.)
// Backward batch norm is oneDNN's bf16 kernel. The 1x1 stride-1 convolutions that float32 runs as
// sgemm run in bf16 as oneDNN matmul primitives on the weights as stored (AMX brgemm: its
// backward-weights product with the transposed gradient took 0.5-1.5 ms where the bf16
// convolution primitive took 34-76 ms and float32 sgemm 3-6 ms, on 2 cores with AMX).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/bf16.h"
#include "cpu/bf16_loops.h"
#include "cpu/grouped_conv.h"
#include "cpu/dnnl_context.h"
#include "ops/conv_bn.h"
#include "ops/dispatch.h"
#include "ops/maths.h"

namespace senet::cpu {

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct Geometry {
  int64_t n, h, w, cin, cout, ho, wo;
  dt act, wdt;  // activations' and weights' element types (f32, or bf16 in mixed precision)
  memory::dims strides, pad_l, pad_r;
  memory::desc x_md, y_md, w_user_md, stat_md;
  memory::desc conv_dst_md;  // what the forward convolution writes: y_md, or float32 in mixed precision
};

Geometry geometry(const ConvBnParams& p, const Tensor& x, const Tensor& w) {
  Geometry g;
  g.n = x.dim(0), g.h = x.dim(1), g.w = x.dim(2), g.cin = x.dim(3), g.cout = w.dim(0);
  g.ho = window_output_size(g.h, p.kernel_h, p.stride_h, p.pad_h);
  g.wo = window_output_size(g.w, p.kernel_w, p.stride_w, p.pad_w);
  g.strides = {p.stride_h, p.stride_w};
  g.pad_l = {p.pad_h, p.pad_w};
  // oneDNN wants the right padding that makes its size formula exact; PyTorch's floor rule may
  // leave some of the nominal padding unused (or cut into the input).
  g.pad_r = {(g.ho - 1) * p.stride_h + p.kernel_h - g.h - p.pad_h,
             (g.wo - 1) * p.stride_w + p.kernel_w - g.w - p.pad_w};
  g.act = x.dtype == DType::BF16 ? dt::bf16 : dt::f32;
  g.wdt = w.dtype == DType::BF16 ? dt::bf16 : dt::f32;
  g.x_md = memory::desc({g.n, g.cin, g.h, g.w}, g.act, tag::nhwc);
  g.y_md = memory::desc({g.n, g.cout, g.ho, g.wo}, g.act, tag::nhwc);
  if (p.groups == 1) {
    g.w_user_md = memory::desc({g.cout, g.cin, p.kernel_h, p.kernel_w}, g.wdt, tag::ohwi);
  } else {
    g.w_user_md = memory::desc({p.groups, g.cout / p.groups, g.cin / p.groups, p.kernel_h, p.kernel_w},
                               g.wdt, tag::gohwi);
  }
  g.stat_md = memory::desc({g.cout}, dt::f32, tag::a);
  g.conv_dst_md = memory::desc({g.n, g.cout, g.ho, g.wo}, dt::f32, tag::nhwc);
  return g;
}

// Forward, oneDNN's 1x1 kernel with its weight reorder is 5-10 % faster than sgemm from about a
// thousand rows (N Ho Wo) on (measured on two AVX-512 cores); below, the reorder dominates and
// sgemm wins by up to 5x. Backward, sgemm is as fast or faster at every size measured.
constexpr int64_t kGemmForwardRows = 1024;

// A 1x1, stride-1, unpadded, ungrouped convolution over NHWC: z (M, Cout) = x (M, Cin) w^T, with
// w (Cout, Cin) as it is stored and M = N H W.
bool as_gemm(const ConvBnParams& p) {
  static const bool off = [] {
    const char* e = std::getenv("SENET_ONEDNN_CONV1X1");
    return e != nullptr && e[0] == '1';
  }();
  return !off && p.kernel_h == 1 && p.kernel_w == 1 && p.stride_h == 1 && p.stride_w == 1 &&
         p.pad_h == 0 && p.pad_w == 0 && p.groups == 1;
}

// z (M, Cout) = x (M, Cin) w^T. With few rows (small images, late stages) oneDNN's sgemm is several
// times faster on the transposed problem z^T = w x^T, which has the large matrix as its first
// operand (0.5 ms instead of 2.7 ms for M 32, 1024 -> 2048 channels on two AVX-512 cores): then z^T
// goes to scratch and is transposed (M x Cout floats, little beside the weights' Cin x Cout).
void gemm_forward(int64_t m, int64_t cin, int64_t cout, const float* x, const float* w, float* z) {
  constexpr int64_t kFewRows = 256;
  if (m > kFewRows) {
    sgemm('N', 'T', m, cout, cin, x, cin, w, cin, z, cout);
    return;
  }
  float* zt = scratch_as<float>(Scratch::Weights, static_cast<size_t>(m * cout));
  sgemm('N', 'T', cout, m, cin, w, cin, x, cin, zt, m);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    float* __restrict row = z + i * cout;
    const float* __restrict col = zt + i;
    for (int64_t o = 0; o < cout; ++o) row[o] = col[o * m];
  }
}

// Batch norm with running statistics (+ ReLU) over (rows, C), channels contiguous, float32.
void batch_norm_inference(const float* z, float* y, int64_t rows, int64_t c, const float* gamma,
                          const float* beta, const float* mean, const float* var, float eps, bool relu) {
  float* scale = scratch_as<float>(Scratch::Small, static_cast<size_t>(c));
  for (int64_t k = 0; k < c; ++k) scale[k] = gamma[k] / std::sqrt(var[k] + eps);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows; ++i) {
    const float* __restrict zr = z + i * c;
    float* __restrict yr = y + i * c;
    if (relu) {
#pragma omp simd
      for (int64_t k = 0; k < c; ++k) {
        const float v = (zr[k] - mean[k]) * scale[k] + beta[k];
        store(yr, k, v < 0.f ? 0.f : v);  // NaN passes, as in PyTorch's relu
      }
    } else {
#pragma omp simd
      for (int64_t k = 0; k < c; ++k) store(yr, k, (zr[k] - mean[k]) * scale[k] + beta[k]);
    }
  }
}

// The same convolution over float32 tensors (mixed precision's float32 kernels).
Geometry as_float32(const Geometry& g) {
  Geometry f = g;
  f.act = f.wdt = dt::f32;
  f.x_md = memory::desc(g.x_md.dims(), dt::f32, tag::nhwc);
  f.y_md = memory::desc(g.y_md.dims(), dt::f32, tag::nhwc);
  f.w_user_md = memory::desc(g.w_user_md.dims(), dt::f32, g.w_user_md.dims().size() == 4 ? tag::ohwi : tag::gohwi);
  return f;
}

// Which kernels mixed precision uses for one convolution and direction: the bf16 ones (the
// default), oneDNN's float32 ones on float32 copies (SENET_BF16_KERNELS=f32), or whichever ran
// faster on the shape's first call, both timed twice as torch.backends.cudnn.benchmark does
// (=measure). With 1x1 convolutions as bf16 matmuls and batch norm's backward our own loop, bf16
// wins or ties on SE-ResNeXt's shapes on a 2-core Xeon with AMX (before, oneDNN's bf16
// backward-weights convolution took 3-8x float32's time on late stages' small maps); the default
// is fixed so that runs repeat bit for bit, which a choice by timing does not promise.
enum class Kernels { Measure, Bf16, F32 };

Kernels forced_kernels() {
  static const Kernels k = [] {
    const char* e = std::getenv("SENET_BF16_KERNELS");
    const std::string v = e ? e : "";
    return v == "measure" ? Kernels::Measure : v == "f32" ? Kernels::F32 : Kernels::Bf16;
  }();
  return k;
}

struct KernelChoice {
  bool f32 = false;
};

// Runs one of the two kernels of a convolution as Kernels says (timing both on a shape's first
// call under =measure).
template <class A, class B>
void run_kernels(const std::string& key, const A& bf16_kernel, const B& f32_kernel) {
  const Kernels forced = forced_kernels();
  if (forced != Kernels::Measure) return forced == Kernels::F32 ? f32_kernel() : bf16_kernel();
  bool measured = false;
  KernelChoice& c = cache().get<KernelChoice>(key, [&] {
    measured = true;
    auto best = [](const auto& fn) {
      double t = 1e300;
      for (int i = 0; i < 2; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        fn();
        t = std::min(t, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      return t;
    };
    const double t16 = best(bf16_kernel);
    const double t32 = best(f32_kernel);
    return KernelChoice{t32 < t16};
  });
  if (!measured) c.f32 ? f32_kernel() : bf16_kernel();
  else if (!c.f32) bf16_kernel();  // the outputs are the last kernel's: make them the chosen one's
}

memory::desc any_weights(const Geometry& g, dt type) { return memory::desc(g.w_user_md.dims(), type, tag::any); }
memory::desc any_weights(const Geometry& g) { return any_weights(g, g.wdt); }

// The float32 gradient of the weights in the user's layout (the gradient arena is float32).
memory::desc dw_user_md(const Geometry& g) {
  return memory::desc(g.w_user_md.dims(), dt::f32, g.w_user_md.dims().size() == 4 ? tag::ohwi : tag::gohwi);
}

std::string geometry_key(const char* op, const ConvBnParams& p, const Geometry& g) {
  return key(op, g.n, g.h, g.w, g.cin, g.cout, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w,
             p.pad_h, p.pad_w, p.groups, p.relu, p.training, p.eps, static_cast<int>(g.act),
             static_cast<int>(g.wdt));
}

dnnl::normalization_flags bn_flags(bool relu, bool global_stats) {
  auto f = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  if (relu) f = f | dnnl::normalization_flags::fuse_norm_relu;
  if (global_stats) f = f | dnnl::normalization_flags::use_global_stats;
  return f;
}

// dst: the output's descriptor (y_md for backward's hints; conv_dst_md for the forward itself).
dnnl::convolution_forward::primitive_desc conv_forward_pd(const ConvBnParams& p, const Geometry& g,
                                                          dnnl::prop_kind prop, const memory::desc& dst) {
  auto d = SENET_DNNL(dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct,
                                                      g.x_md, any_weights(g), dst, g.strides,
                                                      g.pad_l, g.pad_r));
  return SENET_DNNL(dnnl::convolution_forward::primitive_desc(d, user_scratchpad(), engine()));
}

struct Forward {
  bool gemm = false;  // as_gemm() in float32: sgemm, no primitive
  bool mm = false;    // as_gemm() in bf16: a matmul primitive, no convolution
  dnnl::matmul::primitive_desc mm_pd;
  dnnl::matmul matmul;
  dnnl::convolution_forward::primitive_desc conv_pd;
  dnnl::convolution_forward conv;
  dnnl::reorder w_reorder;  // user layout -> conv's, when they differ
  bool reorder_w = false;
  dnnl::batch_normalization_forward::primitive_desc bn_pd;
  dnnl::batch_normalization_forward bn;
  // Mixed-precision inference: batch norm (+ ReLU) as the convolution's post-ops, y in bf16.
  bool fused = false;
  memory::desc channel_md;  // (1, Cout, 1, 1) float32: the per-channel scale and shift
};

dnnl::matmul::primitive_desc matmul_pd(int64_t rows, int64_t inner, int64_t cols, const memory::dims& src_strides,
                                       const memory::dims& weight_strides, dt dst_type,
                                       const dnnl::primitive_attr& attr = user_scratchpad()) {
  memory::desc src({rows, inner}, dt::bf16, src_strides);
  memory::desc weights({inner, cols}, dt::bf16, weight_strides);
  memory::desc dst({rows, cols}, dst_type, memory::dims{cols, 1});
  auto d = SENET_DNNL(dnnl::matmul::desc(src, weights, dst));
  return SENET_DNNL(dnnl::matmul::primitive_desc(d, attr, engine()));
}

// Mixed-precision inference in one primitive: y = relu?(conv(x, w) * scale + shift) with batch
// norm's running statistics folded into a per-channel scale and shift, applied to the float32
// accumulator before y is rounded to bf16 (so no float32 z goes through memory). A 1x1 stride-1
// convolution on a small map is a matmul on the weights as stored, as in training: there the
// convolution primitive's weight reorder on every call cost more than the product (28x28 inputs at
// batch 32: 9 ms of reorders in a 65 ms forward, bf16 slower than float32; with matmuls the
// forward took 21-33 ms). On large maps the convolution primitive was faster (8x28x28, 512 -> 256
// channels: 2.5-2.9 ms against 3.9-4.3 ms); the two tied at 8x14x14 (1,568 rows).
constexpr int64_t kMatmulInferenceRows = 2048;

Forward make_fused_inference(const ConvBnParams& p, const Geometry& g) {
  Forward f;
  f.fused = true;
  const bool mm = as_gemm(p) && g.n * g.ho * g.wo < kMatmulInferenceRows;
  f.channel_md = mm ? memory::desc({1, g.cout}, dt::f32, tag::ab) : memory::desc({1, g.cout, 1, 1}, dt::f32, tag::nchw);
  dnnl::post_ops ops;
  ops.append_binary(dnnl::algorithm::binary_mul, f.channel_md);
  ops.append_binary(dnnl::algorithm::binary_add, f.channel_md);
  if (p.relu) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  dnnl::primitive_attr attr = user_scratchpad();
  attr.set_post_ops(ops);
  if (mm) {
    // y (M, Cout) bf16 = x (M, Cin) w^T, w (Cout, Cin) read transposed as it is stored.
    f.mm = true;
    f.mm_pd = matmul_pd(g.n * g.ho * g.wo, g.cin, g.cout, {g.cin, 1}, {1, g.cin}, dt::bf16, attr);
    f.matmul = SENET_DNNL(dnnl::matmul(f.mm_pd));
    return f;
  }
  auto d = SENET_DNNL(dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                                      g.x_md, any_weights(g), g.y_md, g.strides, g.pad_l, g.pad_r));
  f.conv_pd = SENET_DNNL(dnnl::convolution_forward::primitive_desc(d, attr, engine()));
  f.conv = SENET_DNNL(dnnl::convolution_forward(f.conv_pd));
  f.reorder_w = f.conv_pd.weights_desc() != g.w_user_md;
  if (f.reorder_w) f.w_reorder = make_reorder(g.w_user_md, f.conv_pd.weights_desc());
  return f;
}

// A bf16 matmul dst (rows, cols) = src (rows, inner) * weights (inner, cols), each given by its
// strides (row-major, or transposed views of the tensors as they are stored).

Forward make_forward(const ConvBnParams& p, const Geometry& g) {
  if (!p.training && g.act == dt::bf16) return make_fused_inference(p, g);
  Forward f;
  if (as_gemm(p) && g.act == dt::bf16) {
    // z (M, Cout) f32 = x (M, Cin) w^T, w (Cout, Cin) read transposed as it is stored.
    const int64_t m = g.n * g.ho * g.wo;
    f.mm = true;
    f.mm_pd = matmul_pd(m, g.cin, g.cout, {g.cin, 1}, {1, g.cin}, dt::f32);
    f.matmul = SENET_DNNL(dnnl::matmul(f.mm_pd));
    return f;
  }
  auto prop = p.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  f.gemm = as_gemm(p) && g.act == dt::f32 && g.n * g.ho * g.wo < kGemmForwardRows;
  if (!f.gemm) {
    f.conv_pd = conv_forward_pd(p, g, prop, g.conv_dst_md);
    f.conv = SENET_DNNL(dnnl::convolution_forward(f.conv_pd));
    f.reorder_w = f.conv_pd.weights_desc() != g.w_user_md;
    if (f.reorder_w)
      f.w_reorder = make_reorder(g.w_user_md, f.conv_pd.weights_desc());
  }
  // Inference batch norm, and all of mixed precision's, is our own loop (batch_norm_inference / _training).
  if (!p.training || g.act == dt::bf16) return f;
  auto bn_d = SENET_DNNL(dnnl::batch_normalization_forward::desc(prop, g.y_md, p.eps, bn_flags(p.relu, false)));
  f.bn_pd = SENET_DNNL(dnnl::batch_normalization_forward::primitive_desc(bn_d, user_scratchpad(), engine()));
  f.bn = SENET_DNNL(dnnl::batch_normalization_forward(f.bn_pd));
  return f;
}

struct Backward {
  bool gemm = false;  // as_gemm() in float32: sgemm, no convolution primitives
  bool mm = false;    // as_gemm() in bf16: matmul primitives
  bool has_bn = false;  // float32 only: oneDNN's batch-norm backward
  dnnl::matmul::primitive_desc data_mm_pd, weights_mm_pd;
  dnnl::matmul data_mm, weights_mm;
  dnnl::batch_normalization_backward::primitive_desc bn_pd;
  dnnl::batch_normalization_backward bn;
  dnnl::convolution_backward_data::primitive_desc data_pd;
  dnnl::convolution_backward_data data;
  dnnl::reorder w_reorder;
  bool reorder_w = false;
  dnnl::convolution_backward_weights::primitive_desc weights_pd;
  dnnl::convolution_backward_weights weights;
  dnnl::reorder dw_reorder;  // conv's diff-weights layout -> user layout
  bool reorder_dw = false;
};

// dy masked by the forward's ReLU (y > 0). Both loads unconditional, so that the select
// vectorises (a conditional load keeps the loop scalar, with a branch that mispredicts half the time).
template <class T>
void relu_mask(const T* dy, const T* y, T* out, int64_t count) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    const T d = dy[i];
    out[i] = load(y, i) > 0.f ? d : T{};
  }
}

Backward make_backward(const ConvBnParams& p, const Geometry& g, bool need_dx) {
  Backward b;
  // Mixed precision's batch-norm backward is our own loop (batch_norm_backward).
  if (g.act == dt::f32) {
  // The ReLU's mask is applied separately (from y), so BN's backward runs without it.
  auto flags = bn_flags(false, false);
  auto bn_fwd_d = SENET_DNNL(dnnl::batch_normalization_forward::desc(
      dnnl::prop_kind::forward_training, g.y_md, p.eps, flags));
  auto bn_hint = SENET_DNNL(dnnl::batch_normalization_forward::primitive_desc(bn_fwd_d, engine()));
  auto bn_d = SENET_DNNL(dnnl::batch_normalization_backward::desc(dnnl::prop_kind::backward, g.y_md,
                                                                  g.y_md, p.eps, flags));
  b.bn_pd = SENET_DNNL(dnnl::batch_normalization_backward::primitive_desc(bn_d, user_scratchpad(),
                                                                          engine(), bn_hint));
  b.bn = SENET_DNNL(dnnl::batch_normalization_backward(b.bn_pd));
  b.has_bn = true;
  }
  b.gemm = as_gemm(p) && g.act == dt::f32;
  if (b.gemm) return b;
  if (as_gemm(p)) {
    // dx (M, Cin) bf16 = dz (M, Cout) w (Cout, Cin);  dw (Cout, Cin) f32 = dz^T (Cout, M) x (M, Cin).
    const int64_t m = g.n * g.ho * g.wo;
    b.mm = true;
    if (need_dx) {
      b.data_mm_pd = matmul_pd(m, g.cout, g.cin, {g.cout, 1}, {g.cin, 1}, dt::bf16);
      b.data_mm = SENET_DNNL(dnnl::matmul(b.data_mm_pd));
    }
    b.weights_mm_pd = matmul_pd(g.cout, m, g.cin, {1, g.cout}, {g.cin, 1}, dt::f32);
    b.weights_mm = SENET_DNNL(dnnl::matmul(b.weights_mm_pd));
    return b;
  }

  auto hint = conv_forward_pd(p, g, dnnl::prop_kind::forward_training, g.y_md);
  if (need_dx) {
    auto dd = SENET_DNNL(dnnl::convolution_backward_data::desc(
        dnnl::algorithm::convolution_direct, g.x_md, any_weights(g), g.y_md, g.strides, g.pad_l,
        g.pad_r));
    b.data_pd = SENET_DNNL(dnnl::convolution_backward_data::primitive_desc(dd, user_scratchpad(),
                                                                           engine(), hint));
    b.data = SENET_DNNL(dnnl::convolution_backward_data(b.data_pd));
    b.reorder_w = b.data_pd.weights_desc() != g.w_user_md;
    if (b.reorder_w)
      b.w_reorder = make_reorder(g.w_user_md, b.data_pd.weights_desc());
  }
  // The weight gradient is float32 whatever the activations are (it updates float32 master weights).
  auto wd = SENET_DNNL(dnnl::convolution_backward_weights::desc(
      dnnl::algorithm::convolution_direct, g.x_md, any_weights(g, dt::f32), g.y_md, g.strides, g.pad_l,
      g.pad_r));
  b.weights_pd = SENET_DNNL(dnnl::convolution_backward_weights::primitive_desc(wd, user_scratchpad(),
                                                                               engine(), hint));
  b.weights = SENET_DNNL(dnnl::convolution_backward_weights(b.weights_pd));
  b.reorder_dw = b.weights_pd.diff_weights_desc() != dw_user_md(g);
  if (b.reorder_dw)
    b.dw_reorder = make_reorder(b.weights_pd.diff_weights_desc(), dw_user_md(g));
  return b;
}

using Args = std::unordered_map<int, memory>;

// One matmul on plain buffers laid out as its descriptors say, plus any post-op arguments.
void run_matmul(const dnnl::matmul& mm, const dnnl::matmul::primitive_desc& pd, const void* src, const void* weights,
                void* dst, void* pad, Args args = {}) {
  args[DNNL_ARG_SRC] = wrap(pd.src_desc(), const_cast<void*>(src));
  args[DNNL_ARG_WEIGHTS] = wrap(pd.weights_desc(), const_cast<void*>(weights));
  args[DNNL_ARG_DST] = wrap(pd.dst_desc(), dst);
  args[DNNL_ARG_SCRATCHPAD] = wrap(pd.scratchpad_desc(), pad);
  SENET_DNNL(mm.execute(stream(), args));
}

// The forward convolution alone: z (its primitive's dst type) from x and w as given; post_ops
// carries the arguments of fused inference's post-ops.
void run_forward_conv(Forward& f, const Geometry& g, const void* x, const void* w, void* z, void* pad,
                      Args post_ops = {}) {
  auto& s = stream();
  if (f.gemm) {
    gemm_forward(g.n * g.ho * g.wo, g.cin, g.cout, static_cast<const float*>(x), static_cast<const float*>(w),
                 static_cast<float*>(z));
    return;
  }
  if (f.mm) {
    run_matmul(f.matmul, f.mm_pd, x, w, z, pad, std::move(post_ops));
    SENET_DNNL(s.wait());
    return;
  }
  memory w_mem = wrap(g.w_user_md, const_cast<void*>(w));
  if (f.reorder_w) {
    memory w_conv = wrap(f.conv_pd.weights_desc(), scratch(Scratch::Weights, f.conv_pd.weights_desc().get_size()));
    SENET_DNNL(f.w_reorder.execute(s, w_mem, w_conv));
    w_mem = w_conv;
  }
  Args args = std::move(post_ops);
  args[DNNL_ARG_SRC] = wrap(g.x_md, const_cast<void*>(x));
  args[DNNL_ARG_WEIGHTS] = w_mem;
  args[DNNL_ARG_DST] = wrap(f.conv_pd.dst_desc(), z);
  args[DNNL_ARG_SCRATCHPAD] = wrap(f.conv_pd.scratchpad_desc(), pad);
  SENET_DNNL(f.conv.execute(s, args));
  SENET_DNNL(s.wait());
}

// The convolution's two backward products: dx (optional, x's type) and dw (float32; optional too,
// when our kernel makes it) from dz (the gradient at the convolution's output, in the activations'
// type).
void run_backward_conv(Backward& b, const Geometry& g, const void* dz, const void* x, const void* w, void* dx,
                       float* dw, void* pad) {
  auto& s = stream();
  const bool need_dx = dx != nullptr;
  if (b.gemm) {
    const int64_t m = g.n * g.ho * g.wo;
    // dx (M, Cin) = dz (M, Cout) w;  dw (Cout, Cin) = dz^T x.
    const float* dzf = static_cast<const float*>(dz);
    if (need_dx) sgemm('N', 'N', m, g.cin, g.cout, dzf, g.cout, static_cast<const float*>(w), g.cin, static_cast<float*>(dx), g.cin);
    if (dw) sgemm('T', 'N', g.cout, g.cin, m, dzf, g.cout, static_cast<const float*>(x), g.cin, dw, g.cin);
    return;
  }
  if (b.mm) {
    if (need_dx) run_matmul(b.data_mm, b.data_mm_pd, dz, w, dx, pad);
    if (dw) run_matmul(b.weights_mm, b.weights_mm_pd, dz, x, dw, pad);
    SENET_DNNL(s.wait());
    return;
  }
  memory dz_mem = wrap(g.y_md, const_cast<void*>(dz));
  if (need_dx) {
    memory w_mem = wrap(g.w_user_md, const_cast<void*>(w));
    if (b.reorder_w) {
      memory w_conv = wrap(b.data_pd.weights_desc(), scratch(Scratch::Weights, b.data_pd.weights_desc().get_size()));
      SENET_DNNL(b.w_reorder.execute(s, w_mem, w_conv));
      w_mem = w_conv;
    }
    SENET_DNNL(b.data.execute(s, {{DNNL_ARG_DIFF_DST, dz_mem},
                                 {DNNL_ARG_WEIGHTS, w_mem},
                                 {DNNL_ARG_DIFF_SRC, wrap(g.x_md, dx)},
                                 {DNNL_ARG_SCRATCHPAD, wrap(b.data_pd.scratchpad_desc(), pad)}}));
  }
  if (!dw) {
    SENET_DNNL(s.wait());
    return;
  }
  memory dw_user = wrap(dw_user_md(g), dw);
  memory dw_mem = dw_user;
  if (b.reorder_dw)
    dw_mem = wrap(b.weights_pd.diff_weights_desc(), scratch(Scratch::Weights, b.weights_pd.diff_weights_desc().get_size()));
  SENET_DNNL(b.weights.execute(s, {{DNNL_ARG_SRC, wrap(g.x_md, const_cast<void*>(x))},
                                  {DNNL_ARG_DIFF_DST, dz_mem},
                                  {DNNL_ARG_DIFF_WEIGHTS, dw_mem},
                                  {DNNL_ARG_SCRATCHPAD, wrap(b.weights_pd.scratchpad_desc(), pad)}}));
  if (b.reorder_dw) SENET_DNNL(b.dw_reorder.execute(s, dw_mem, dw_user));
  SENET_DNNL(s.wait());
}

// Inference's batch norm as an affine map from the running statistics: scale (Cout) followed by
// shift (Cout), in small scratch.
float* inference_affine(const Geometry& g, const ConvBnForward& a) {
  float* scale = scratch_as<float>(Scratch::Small, static_cast<size_t>(2 * g.cout));
  float* shift = scale + g.cout;
  const float *gamma = a.gamma.data<float>(), *beta = a.beta.data<float>();
  const float *mean = a.running_mean.data<float>(), *var = a.running_var.data<float>();
  for (int64_t k = 0; k < g.cout; ++k) {
    scale[k] = gamma[k] / std::sqrt(var[k] + a.p.eps);
    shift[k] = beta[k] - mean[k] * scale[k];
  }
  return scale;
}

// The fused mixed-precision inference (make_fused_inference): scale and shift from the running
// statistics, then one convolution writing y.
void run_fused_inference(Forward& f, const Geometry& g, const ConvBnForward& a, void* pad) {
  float* scale = inference_affine(g, a);
  float* shift = scale + g.cout;
  run_forward_conv(f, g, a.x.raw(), a.w.raw(), a.y.raw(), pad,
                   {{DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, wrap(f.channel_md, scale)},
                    {DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1, wrap(f.channel_md, shift)}});
}

// A bf16 grouped convolution our own kernel takes (grouped_conv.h): few channels per group, as
// many out as in. SENET_ONEDNN_GROUPED=1 leaves every one to oneDNN (to compare).
bool own_grouped(const ConvBnParams& p, const Geometry& g, const Tensor& w, GroupedConv* out) {
  static const bool off = [] {
    const char* e = std::getenv("SENET_ONEDNN_GROUPED");
    return e != nullptr && e[0] == '1';
  }();
  if (off || g.act != dt::bf16 || w.dtype != DType::BF16 || g.cin != g.cout) return false;
  *out = GroupedConv{g.n, g.h, g.w, g.cin, g.ho, g.wo, p.groups, p.kernel_h, p.kernel_w,
                     p.stride_h, p.stride_w, p.pad_h, p.pad_w};
  return grouped_conv_fits(*out);
}

// The scratch a primitive set needs (its largest scratchpad).
size_t forward_pad(const Forward& f) {
  if (f.gemm) return 0;
  return f.mm ? f.mm_pd.scratchpad_desc().get_size() : f.conv_pd.scratchpad_desc().get_size();
}
size_t backward_pad(const Backward& b, bool need_dx) {
  size_t n = b.has_bn ? b.bn_pd.scratchpad_desc().get_size() : 0;
  if (b.mm) {
    n = std::max(n, b.weights_mm_pd.scratchpad_desc().get_size());
    if (need_dx) n = std::max(n, b.data_mm_pd.scratchpad_desc().get_size());
  } else if (!b.gemm) {
    n = std::max(n, b.weights_pd.scratchpad_desc().get_size());
    if (need_dx) n = std::max(n, b.data_pd.scratchpad_desc().get_size());
  }
  return n;
}

}  // namespace

void conv_bn_forward(const ConvBnForward& a) {
  const ConvBnParams& p = a.p;
  const Tensor &x = a.x, &w = a.w, &gamma = a.gamma, &beta = a.beta, &y = a.y;
  const Tensor &running_mean = a.running_mean, &running_var = a.running_var;
  const Tensor *z = opt(a.z), *save_mean = opt(a.save_mean), *save_var = opt(a.save_var);
  Geometry g = geometry(p, x, w);
  const bool mixed = g.act == dt::bf16;
  Forward& f = cache().get<Forward>(geometry_key("conv_bn_fwd", p, g), [&] { return make_forward(p, g); });
  auto& s = stream();
  size_t pad_bytes = forward_pad(f);
  if (p.training && !mixed) pad_bytes = std::max(pad_bytes, f.bn_pd.scratchpad_desc().get_size());
  void* pad = scratch(Scratch::Pad, pad_bytes);

  if (mixed && !p.training) {
    // Mixed-precision inference: the fused bf16 primitive, or float32 kernels on float32 copies
    // followed by our batch-norm loop (see Kernels).
    GroupedConv gc;
    auto fused = [&] {
      if (own_grouped(p, g, w, &gc)) {
        const float* scale = inference_affine(g, a);
        grouped_conv_forward(gc, x.data<bf16>(), w.data<bf16>(), scale, scale + g.cout, p.relu, y.data<bf16>());
      } else {
        run_fused_inference(f, g, a, scratch(Scratch::Pad, forward_pad(f)));
      }
    };
    auto f32_kernel = [&] {
      const Geometry g32 = as_float32(g);
      Forward& f32 = cache().get<Forward>(geometry_key("conv_bn_fwd", p, g32), [&] { return make_forward(p, g32); });
      void* zp = scratch(Scratch::Act0, g.conv_dst_md.get_size());
      const float* xf = to_float32(x, Scratch::Convert0);
      const float* wf = to_float32(w, Scratch::Convert1);
      run_forward_conv(f32, g32, xf, wf, zp, scratch(Scratch::Pad, forward_pad(f32)));
      float* yf = scratch_as<float>(Scratch::Convert2, static_cast<size_t>(y.numel()));
      batch_norm_inference(static_cast<const float*>(zp), yf, g.n * g.ho * g.wo, g.cout, gamma.data<float>(),
                           beta.data<float>(), running_mean.data<float>(), running_var.data<float>(), p.eps, p.relu);
      from_float32(yf, y);
    };
    run_kernels(geometry_key("conv_inference_kernel", p, g), fused, f32_kernel);
    return;
  }

  // The convolution's output (N, Ho, Wo, Cout): z itself in float32 (scratch when inference does not
  // keep it); float32 scratch in mixed precision, z being its bf16 rounding.
  void* zp = z && !mixed ? z->raw() : scratch(Scratch::Act0, g.conv_dst_md.get_size());
  memory z_mem = wrap(g.conv_dst_md, zp);
  if (!mixed) {
    run_forward_conv(f, g, x.raw(), w.raw(), zp, pad);
  } else {
    // Mixed precision: the bf16 kernel, or oneDNN's float32 one on float32 copies of x and w (see
    // Kernels).
    const Geometry g32 = as_float32(g);
    // (Each kernel asks for its scratchpad afresh: the other's may have grown the buffer.)
    GroupedConv gc;
    auto bf16_kernel = [&] {
      if (own_grouped(p, g, w, &gc)) grouped_conv_forward(gc, x.data<bf16>(), w.data<bf16>(), static_cast<float*>(zp));
      else run_forward_conv(f, g, x.raw(), w.raw(), zp, scratch(Scratch::Pad, forward_pad(f)));
    };
    auto f32_kernel = [&] {
      Forward& f32 = cache().get<Forward>(geometry_key("conv_bn_fwd", p, g32), [&] { return make_forward(p, g32); });
      const float* xf = to_float32(x, Scratch::Convert0);
      const float* wf = to_float32(w, Scratch::Convert1);
      run_forward_conv(f32, g32, xf, wf, zp, scratch(Scratch::Pad, forward_pad(f32)));
    };
    run_kernels(geometry_key("conv_fwd_kernel", p, g), bf16_kernel, f32_kernel);
  }

  if (!p.training) {
    // Inference: y = relu?((z - mean) gamma / sqrt(var + eps) + beta) in one pass of our own (oneDNN's
    // batch norm costs ~0.1 ms a call even on the small maps of late stages and small images).
    SENET_DNNL(s.wait());
    batch_norm_inference(static_cast<const float*>(zp), y.data<float>(), g.n * g.ho * g.wo, g.cout, gamma.data<float>(),
                         beta.data<float>(), running_mean.data<float>(), running_var.data<float>(), p.eps, p.relu);
    return;
  }
  if (mixed) {
    SENET_DNNL(s.wait());
    batch_norm_training(static_cast<const float*>(zp), y.data<bf16>(), z->data<bf16>(), g.n * g.ho * g.wo, g.cout,
                        gamma.data<float>(), beta.data<float>(), save_mean->data<float>(), save_var->data<float>(),
                        p.eps, p.relu);
  } else {
  Args args{
      {DNNL_ARG_SRC, z_mem},
      {DNNL_ARG_DST, wrap(g.y_md, y)},
      {DNNL_ARG_SCALE, wrap(g.stat_md, gamma)},
      {DNNL_ARG_SHIFT, wrap(g.stat_md, beta)},
      {DNNL_ARG_SCRATCHPAD, wrap(f.bn_pd.scratchpad_desc(), pad)}};
  args[DNNL_ARG_MEAN] = wrap(g.stat_md, *save_mean);
  args[DNNL_ARG_VARIANCE] = wrap(g.stat_md, *save_var);
  if (p.relu) {
    // The ReLU mask oneDNN keeps here is not needed: backward reads it from y.
    auto ws = f.bn_pd.workspace_desc();
    args[DNNL_ARG_WORKSPACE] = wrap(ws, scratch(Scratch::Act1, ws.get_size()));
  }
  SENET_DNNL(f.bn.execute(s, args));
  SENET_DNNL(s.wait());
  }

  const BnRunning running = BnRunning::of(p.momentum, static_cast<double>(g.n * g.ho * g.wo));
  float* rm = running_mean.data<float>();
  float* rv = running_var.data<float>();
  const float* bm = save_mean->data<float>();
  const float* bv = save_var->data<float>();
  for (int64_t c = 0; c < g.cout; ++c) running.update(rm[c], rv[c], bm[c], bv[c]);
}

void conv_bn_backward(const ConvBnBackward& a) {
  const ConvBnParams& p = a.p;
  const Tensor &dy = a.dy, &x = a.x, &w = a.w, &gamma = a.gamma, &z = a.z, &y = a.y;
  const Tensor &save_mean = a.save_mean, &save_var = a.save_var, &dw = a.dw, &dgamma = a.dgamma, &dbeta = a.dbeta;
  const Tensor* dx = opt(a.dx);
  Geometry g = geometry(p, x, w);
  const bool need_dx = dx != nullptr;
  Backward& b = cache().get<Backward>(geometry_key(need_dx ? "conv_bn_bwd_dx" : "conv_bn_bwd", p, g),
                                      [&] { return make_backward(p, g, need_dx); });
  auto& s = stream();
  void* pad = scratch(Scratch::Pad, backward_pad(b, need_dx));

  // dz (N, Ho, Wo, Cout): gradient at the convolution's output.
  void* dzp = scratch(Scratch::Act1, g.y_md.get_size());
  if (g.act == dt::bf16) {
    batch_norm_backward(dy.data<bf16>(), p.relu ? y.data<bf16>() : nullptr, z.data<bf16>(), g.n * g.ho * g.wo, g.cout,
                        gamma.data<float>(), save_mean.data<float>(), save_var.data<float>(), p.eps, dgamma.data<float>(),
                        dbeta.data<float>(), static_cast<bf16*>(dzp));
  } else {
  // dBN-out (N, Ho, Wo, Cout) = dy through the ReLU's mask.
  memory dbn_mem = wrap(g.y_md, dy);
  if (p.relu) {
    void* masked = scratch(Scratch::Act0, g.y_md.get_size());
    if (g.act == dt::bf16)
      relu_mask(dy.data<bf16>(), y.data<bf16>(), static_cast<bf16*>(masked), y.numel());
    else
      relu_mask(dy.data<float>(), y.data<float>(), static_cast<float*>(masked), y.numel());
    dbn_mem = wrap(g.y_md, masked);
  }
  memory dz_mem = wrap(g.y_md, dzp);
  SENET_DNNL(b.bn.execute(s, {{DNNL_ARG_SRC, wrap(g.y_md, z)},
                             {DNNL_ARG_MEAN, wrap(g.stat_md, save_mean)},
                             {DNNL_ARG_VARIANCE, wrap(g.stat_md, save_var)},
                             {DNNL_ARG_DIFF_DST, dbn_mem},
                             {DNNL_ARG_SCALE, wrap(g.stat_md, gamma)},
                             // oneDNN 2.6 asks for the shift although the gradient does not
                             // depend on it; gamma's buffer stands in, read-only.
                             {DNNL_ARG_SHIFT, wrap(g.stat_md, gamma)},
                             {DNNL_ARG_DIFF_SRC, dz_mem},
                             {DNNL_ARG_DIFF_SCALE, wrap(g.stat_md, dgamma)},
                             {DNNL_ARG_DIFF_SHIFT, wrap(g.stat_md, dbeta)},
                             {DNNL_ARG_SCRATCHPAD, wrap(b.bn_pd.scratchpad_desc(), pad)}}));
  SENET_DNNL(s.wait());
  }
  void* dxp = need_dx ? dx->raw() : nullptr;
  if (g.act == dt::f32) {
    run_backward_conv(b, g, dzp, x.raw(), w.raw(), dxp, dw.data<float>(), pad);
    return;
  }
  // Mixed precision: the bf16 kernels, or oneDNN's float32 ones (sgemm for 1x1) on float32 copies
  // of dz, x and w with dx rounded back (see Kernels).
  const Geometry g32 = as_float32(g);
  // (Each kernel asks for its scratchpad afresh: the other's may have grown the buffer.)
  auto bf16_kernel = [&] {
    void* bpad = scratch(Scratch::Pad, backward_pad(b, need_dx));
    GroupedConv gc;
    if (own_grouped(p, g, w, &gc)) {
      // Our kernels where they are the faster (oneDNN 2.6's bf16 ones ran stage 1's 4 channels a
      // group at 20-35 GFLOP/s); oneDNN for the rest.
      const bool own_dw = grouped_conv_backward_weights_fits(gc);
      const bool own_dx = need_dx && grouped_conv_backward_data_fits(gc);
      if (own_dw) grouped_conv_backward_weights(gc, x.data<bf16>(), static_cast<const bf16*>(dzp), dw.data<float>());
      if (own_dx) grouped_conv_backward_data(gc, static_cast<const bf16*>(dzp), w.data<bf16>(), dx->data<bf16>());
      if (!own_dw || (need_dx && !own_dx))
        run_backward_conv(b, g, dzp, x.raw(), w.raw(), own_dx ? nullptr : dxp, own_dw ? nullptr : dw.data<float>(), bpad);
    } else {
      run_backward_conv(b, g, dzp, x.raw(), w.raw(), dxp, dw.data<float>(), bpad);
    }
  };
  auto f32_kernel = [&] {
    Backward& b32 = cache().get<Backward>(geometry_key(need_dx ? "conv_bn_bwd_dx" : "conv_bn_bwd", p, g32),
                                          [&] { return make_backward(p, g32, need_dx); });
    const float* dzf = to_float32(dzp, g.n * g.ho * g.wo * g.cout, Scratch::Convert0);
    const float* xf = to_float32(x, Scratch::Convert1);
    const float* wf = to_float32(w, Scratch::Convert2);
    float* dxf = need_dx ? scratch_as<float>(Scratch::Convert3, static_cast<size_t>(x.numel())) : nullptr;
    void* pad32 = scratch(Scratch::Pad, backward_pad(b32, need_dx));
    run_backward_conv(b32, g32, dzf, xf, wf, dxf, dw.data<float>(), pad32);
    if (need_dx) from_float32(dxf, *dx);
  };
  run_kernels(geometry_key(need_dx ? "conv_bwd_kernel_dx" : "conv_bwd_kernel", p, g), bf16_kernel, f32_kernel);
}

}  // namespace senet::cpu
