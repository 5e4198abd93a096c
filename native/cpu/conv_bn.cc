// Convolution + batch norm + ReLU on oneDNN. Activations stay NHWC; weights arrive (Cout, kH, kW,
// Cin / groups) and are reordered into whatever layout the chosen convolution prefers — except for
// 1x1 stride-1 convolutions (two thirds of SE-ResNeXt's), which in NHWC are plain matrix products
// and run as oneDNN's sgemm on the weights as they are: backward always, forward on small maps
// (kGemmForwardRows). That saves the weight reorders (three per layer and step otherwise: a
// quarter of oneDNN's time on 28x28 images). SENET_ONEDNN_CONV1X1=1 turns this off (comparisons).
// Inference batch norm (+ ReLU) is one loop of our own.
#include <cmath>
#include <cstdlib>

#include "cpu/dnnl_context.h"
#include "ops/conv_bn.h"
#include "ops/dispatch.h"

namespace senet::cpu {

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct Geometry {
  int64_t n, h, w, cin, cout, ho, wo;
  memory::dims strides, pad_l, pad_r;
  memory::desc x_md, y_md, w_user_md, stat_md;
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
  g.x_md = nhwc(g.n, g.cin, g.h, g.w);
  g.y_md = nhwc(g.n, g.cout, g.ho, g.wo);
  if (p.groups == 1) {
    g.w_user_md = memory::desc({g.cout, g.cin, p.kernel_h, p.kernel_w}, dt::f32, tag::ohwi);
  } else {
    g.w_user_md = memory::desc({p.groups, g.cout / p.groups, g.cin / p.groups, p.kernel_h, p.kernel_w},
                               dt::f32, tag::gohwi);
  }
  g.stat_md = memory::desc({g.cout}, dt::f32, tag::a);
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

// Batch norm with running statistics (+ ReLU) over (rows, C), channels contiguous.
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
        yr[k] = v < 0.f ? 0.f : v;  // NaN passes, as in PyTorch's relu
      }
    } else {
#pragma omp simd
      for (int64_t k = 0; k < c; ++k) yr[k] = (zr[k] - mean[k]) * scale[k] + beta[k];
    }
  }
}

memory::desc any_weights(const ConvBnParams& p, const Geometry& g) {
  memory::dims dims = g.w_user_md.dims();
  return memory::desc(dims, dt::f32, tag::any);
}

std::string geometry_key(const char* op, const ConvBnParams& p, const Geometry& g) {
  return key(op, g.n, g.h, g.w, g.cin, g.cout, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w,
             p.pad_h, p.pad_w, p.groups, p.relu, p.training, p.eps);
}

dnnl::normalization_flags bn_flags(bool relu, bool global_stats) {
  auto f = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  if (relu) f = f | dnnl::normalization_flags::fuse_norm_relu;
  if (global_stats) f = f | dnnl::normalization_flags::use_global_stats;
  return f;
}

dnnl::convolution_forward::primitive_desc conv_forward_pd(const ConvBnParams& p, const Geometry& g,
                                                          dnnl::prop_kind prop) {
  auto d = SENET_DNNL(dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct,
                                                      g.x_md, any_weights(p, g), g.y_md, g.strides,
                                                      g.pad_l, g.pad_r));
  return SENET_DNNL(dnnl::convolution_forward::primitive_desc(d, user_scratchpad(), engine()));
}

struct Forward {
  bool gemm = false;  // as_gemm(): no convolution primitive
  dnnl::convolution_forward::primitive_desc conv_pd;
  dnnl::convolution_forward conv;
  dnnl::reorder w_reorder;  // user layout -> conv's, when they differ
  bool reorder_w = false;
  dnnl::batch_normalization_forward::primitive_desc bn_pd;
  dnnl::batch_normalization_forward bn;
};

Forward make_forward(const ConvBnParams& p, const Geometry& g) {
  Forward f;
  auto prop = p.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  f.gemm = as_gemm(p) && g.n * g.ho * g.wo < kGemmForwardRows;
  if (!f.gemm) {
    f.conv_pd = conv_forward_pd(p, g, prop);
    f.conv = SENET_DNNL(dnnl::convolution_forward(f.conv_pd));
    f.reorder_w = f.conv_pd.weights_desc() != g.w_user_md;
    if (f.reorder_w)
      f.w_reorder = make_reorder(g.w_user_md, f.conv_pd.weights_desc());
  }
  if (!p.training) return f;  // inference batch norm is our own loop (batch_norm_inference)
  auto bn_d = SENET_DNNL(dnnl::batch_normalization_forward::desc(prop, g.y_md, p.eps, bn_flags(p.relu, false)));
  f.bn_pd = SENET_DNNL(dnnl::batch_normalization_forward::primitive_desc(bn_d, user_scratchpad(), engine()));
  f.bn = SENET_DNNL(dnnl::batch_normalization_forward(f.bn_pd));
  return f;
}

struct Backward {
  bool gemm = false;  // as_gemm(): no convolution primitives
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

Backward make_backward(const ConvBnParams& p, const Geometry& g, bool need_dx) {
  Backward b;
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
  b.gemm = as_gemm(p);
  if (b.gemm) return b;

  auto hint = conv_forward_pd(p, g, dnnl::prop_kind::forward_training);
  if (need_dx) {
    auto dd = SENET_DNNL(dnnl::convolution_backward_data::desc(
        dnnl::algorithm::convolution_direct, g.x_md, any_weights(p, g), g.y_md, g.strides, g.pad_l,
        g.pad_r));
    b.data_pd = SENET_DNNL(dnnl::convolution_backward_data::primitive_desc(dd, user_scratchpad(),
                                                                           engine(), hint));
    b.data = SENET_DNNL(dnnl::convolution_backward_data(b.data_pd));
    b.reorder_w = b.data_pd.weights_desc() != g.w_user_md;
    if (b.reorder_w)
      b.w_reorder = make_reorder(g.w_user_md, b.data_pd.weights_desc());
  }
  auto wd = SENET_DNNL(dnnl::convolution_backward_weights::desc(
      dnnl::algorithm::convolution_direct, g.x_md, any_weights(p, g), g.y_md, g.strides, g.pad_l,
      g.pad_r));
  b.weights_pd = SENET_DNNL(dnnl::convolution_backward_weights::primitive_desc(wd, user_scratchpad(),
                                                                               engine(), hint));
  b.weights = SENET_DNNL(dnnl::convolution_backward_weights(b.weights_pd));
  b.reorder_dw = b.weights_pd.diff_weights_desc() != g.w_user_md;
  if (b.reorder_dw)
    b.dw_reorder = make_reorder(b.weights_pd.diff_weights_desc(), g.w_user_md);
  return b;
}

}  // namespace

void conv_bn_forward(const ConvBnForward& a) {
  const ConvBnParams& p = a.p;
  const Tensor &x = a.x, &w = a.w, &gamma = a.gamma, &beta = a.beta, &y = a.y;
  const Tensor &running_mean = a.running_mean, &running_var = a.running_var;
  const Tensor *z = opt(a.z), *save_mean = opt(a.save_mean), *save_var = opt(a.save_var);
  Geometry g = geometry(p, x, w);
  Forward& f = cache().get<Forward>(geometry_key("conv_bn_fwd", p, g), [&] { return make_forward(p, g); });
  auto& s = stream();
  size_t pad_bytes = 0;
  if (!f.gemm) pad_bytes = f.conv_pd.scratchpad_desc().get_size();
  if (p.training) pad_bytes = std::max(pad_bytes, f.bn_pd.scratchpad_desc().get_size());
  void* pad = scratch(Scratch::Pad, pad_bytes);

  // z (N, Ho, Wo, Cout): the convolution's output; scratch when inference does not keep it.
  float* zp = z ? z->data<float>() : static_cast<float*>(scratch(Scratch::Act0, g.y_md.get_size()));
  memory z_mem = wrap(g.y_md, zp);
  if (f.gemm) {
    gemm_forward(g.n * g.ho * g.wo, g.cin, g.cout, x.data<float>(), w.data<float>(), zp);
  } else {
    memory w_mem = wrap(g.w_user_md, w);
    if (f.reorder_w) {
      memory w_conv = wrap(f.conv_pd.weights_desc(), scratch(Scratch::Weights, f.conv_pd.weights_desc().get_size()));
      SENET_DNNL(f.w_reorder.execute(s, w_mem, w_conv));
      w_mem = w_conv;
    }
    SENET_DNNL(f.conv.execute(s, {{DNNL_ARG_SRC, wrap(g.x_md, x)},
                                 {DNNL_ARG_WEIGHTS, w_mem},
                                 {DNNL_ARG_DST, z_mem},
                                 {DNNL_ARG_SCRATCHPAD, wrap(f.conv_pd.scratchpad_desc(), pad)}}));
  }

  if (!p.training) {
    // Inference: y = relu?((z - mean) gamma / sqrt(var + eps) + beta) in one pass of our own (oneDNN's
    // batch norm costs ~0.1 ms a call even on the small maps of late stages and small images).
    SENET_DNNL(s.wait());
    batch_norm_inference(zp, y.data<float>(), g.n * g.ho * g.wo, g.cout, gamma.data<float>(), beta.data<float>(),
                         running_mean.data<float>(), running_var.data<float>(), p.eps, p.relu);
    return;
  }
  std::unordered_map<int, memory> args{
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

  // PyTorch's running statistics: the variance kept is the unbiased one.
  const double count = static_cast<double>(g.n * g.ho * g.wo);
  const float unbias = static_cast<float>(count / (count - 1));
  const float m = p.momentum;
  float* rm = running_mean.data<float>();
  float* rv = running_var.data<float>();
  const float* bm = save_mean->data<float>();
  const float* bv = save_var->data<float>();
  for (int64_t c = 0; c < g.cout; ++c) {
    rm[c] = (1 - m) * rm[c] + m * bm[c];
    rv[c] = (1 - m) * rv[c] + m * bv[c] * unbias;
  }
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
  size_t pad_bytes = b.bn_pd.scratchpad_desc().get_size();
  if (!b.gemm) pad_bytes = std::max(pad_bytes, b.weights_pd.scratchpad_desc().get_size());
  if (need_dx && !b.gemm) pad_bytes = std::max(pad_bytes, b.data_pd.scratchpad_desc().get_size());
  void* pad = scratch(Scratch::Pad, pad_bytes);

  // dBN-out (N, Ho, Wo, Cout) = dy through the ReLU's mask.
  const int64_t count = y.numel();
  const float* dyp = dy.data<float>();
  memory dbn_mem = wrap(g.y_md, dy);
  if (p.relu) {
    float* masked = scratch_as<float>(Scratch::Act0, count);
    const float* yp = y.data<float>();
    // Both loads unconditional, so that the select vectorises (a conditional load keeps the loop
    // scalar, with a branch that mispredicts half the time).
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < count; ++i) {
      const float d = dyp[i];
      masked[i] = yp[i] > 0.f ? d : 0.f;
    }
    dbn_mem = wrap(g.y_md, masked);
  }
  // dz (N, Ho, Wo, Cout): gradient at the convolution's output.
  float* dzp = static_cast<float*>(scratch(Scratch::Act1, g.y_md.get_size()));
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

  if (b.gemm) {
    const int64_t m = g.n * g.ho * g.wo;
    // dx (M, Cin) = dz (M, Cout) w;  dw (Cout, Cin) = dz^T x.
    SENET_DNNL(s.wait());
    if (need_dx) sgemm('N', 'N', m, g.cin, g.cout, dzp, g.cout, w.data<float>(), g.cin, dx->data<float>(), g.cin);
    sgemm('T', 'N', g.cout, g.cin, m, dzp, g.cout, x.data<float>(), g.cin, dw.data<float>(), g.cin);
    return;
  }
  if (need_dx) {
    memory w_mem = wrap(g.w_user_md, w);
    if (b.reorder_w) {
      memory w_conv = wrap(b.data_pd.weights_desc(), scratch(Scratch::Weights, b.data_pd.weights_desc().get_size()));
      SENET_DNNL(b.w_reorder.execute(s, w_mem, w_conv));
      w_mem = w_conv;
    }
    SENET_DNNL(b.data.execute(s, {{DNNL_ARG_DIFF_DST, dz_mem},
                                 {DNNL_ARG_WEIGHTS, w_mem},
                                 {DNNL_ARG_DIFF_SRC, wrap(g.x_md, *dx)},
                                 {DNNL_ARG_SCRATCHPAD, wrap(b.data_pd.scratchpad_desc(), pad)}}));
  }

  memory dw_user = wrap(g.w_user_md, dw);
  memory dw_mem = dw_user;
  if (b.reorder_dw)
    dw_mem = wrap(b.weights_pd.diff_weights_desc(), scratch(Scratch::Weights, b.weights_pd.diff_weights_desc().get_size()));
  SENET_DNNL(b.weights.execute(s, {{DNNL_ARG_SRC, wrap(g.x_md, x)},
                                  {DNNL_ARG_DIFF_DST, dz_mem},
                                  {DNNL_ARG_DIFF_WEIGHTS, dw_mem},
                                  {DNNL_ARG_SCRATCHPAD, wrap(b.weights_pd.scratchpad_desc(), pad)}}));
  if (b.reorder_dw) SENET_DNNL(b.dw_reorder.execute(s, dw_mem, dw_user));
  SENET_DNNL(s.wait());
}

}  // namespace senet::cpu
