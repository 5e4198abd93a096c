// Convolution + batch norm + ReLU on oneDNN. Activations stay NHWC; weights arrive (Cout, kH, kW,
// Cin / groups) and are reordered into whatever layout the chosen convolution prefers.
#include <cmath>

#include "cpu/dnnl_context.h"
#include "ops/conv_bn.h"

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
  g.ho = conv_output_size(g.h, p.kernel_h, p.stride_h, p.pad_h);
  g.wo = conv_output_size(g.w, p.kernel_w, p.stride_w, p.pad_w);
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
  f.conv_pd = conv_forward_pd(p, g, prop);
  f.conv = SENET_DNNL(dnnl::convolution_forward(f.conv_pd));
  f.reorder_w = f.conv_pd.weights_desc() != g.w_user_md;
  if (f.reorder_w)
    f.w_reorder = make_reorder(g.w_user_md, f.conv_pd.weights_desc());
  auto bn_d = SENET_DNNL(dnnl::batch_normalization_forward::desc(prop, g.y_md, p.eps,
                                                                 bn_flags(p.relu, !p.training)));
  f.bn_pd = SENET_DNNL(dnnl::batch_normalization_forward::primitive_desc(bn_d, user_scratchpad(), engine()));
  f.bn = SENET_DNNL(dnnl::batch_normalization_forward(f.bn_pd));
  return f;
}

struct Backward {
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

size_t max_scratchpad(std::initializer_list<memory::desc> mds) {
  size_t m = 0;
  for (const auto& md : mds) m = std::max(m, md.get_size());
  return m;
}

}  // namespace

void conv_bn_forward(const ConvBnParams& p, const Tensor& x, const Tensor& w, const Tensor& gamma,
                     const Tensor& beta, Tensor& running_mean, Tensor& running_var, Tensor& y,
                     Tensor* z, Tensor* save_mean, Tensor* save_var) {
  Geometry g = geometry(p, x, w);
  Forward& f = cache().get<Forward>(geometry_key("conv_bn_fwd", p, g), [&] { return make_forward(p, g); });
  auto& s = stream();
  void* pad = scratch(Scratch::Pad, max_scratchpad({f.conv_pd.scratchpad_desc(), f.bn_pd.scratchpad_desc()}));

  memory w_mem = wrap(g.w_user_md, w);
  if (f.reorder_w) {
    memory w_conv = wrap(f.conv_pd.weights_desc(), scratch(Scratch::Weights, f.conv_pd.weights_desc().get_size()));
    SENET_DNNL(f.w_reorder.execute(s, w_mem, w_conv));
    w_mem = w_conv;
  }
  // z (N, Ho, Wo, Cout): the convolution's output; scratch when inference does not keep it.
  memory z_mem = wrap(g.y_md, z ? z->raw() : scratch(Scratch::Act0, g.y_md.get_size()));
  SENET_DNNL(f.conv.execute(s, {{DNNL_ARG_SRC, wrap(g.x_md, x)},
                               {DNNL_ARG_WEIGHTS, w_mem},
                               {DNNL_ARG_DST, z_mem},
                               {DNNL_ARG_SCRATCHPAD, wrap(f.conv_pd.scratchpad_desc(), pad)}}));

  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, z_mem},
      {DNNL_ARG_DST, wrap(g.y_md, y)},
      {DNNL_ARG_SCALE, wrap(g.stat_md, gamma)},
      {DNNL_ARG_SHIFT, wrap(g.stat_md, beta)},
      {DNNL_ARG_SCRATCHPAD, wrap(f.bn_pd.scratchpad_desc(), pad)}};
  if (p.training) {
    args[DNNL_ARG_MEAN] = wrap(g.stat_md, *save_mean);
    args[DNNL_ARG_VARIANCE] = wrap(g.stat_md, *save_var);
    if (p.relu) {
      // The ReLU mask oneDNN keeps here is not needed: backward reads it from y.
      auto ws = f.bn_pd.workspace_desc();
      args[DNNL_ARG_WORKSPACE] = wrap(ws, scratch(Scratch::Act1, ws.get_size()));
    }
  } else {
    args[DNNL_ARG_MEAN] = wrap(g.stat_md, running_mean);
    args[DNNL_ARG_VARIANCE] = wrap(g.stat_md, running_var);
  }
  SENET_DNNL(f.bn.execute(s, args));
  SENET_DNNL(s.wait());

  if (p.training) {
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
}

void conv_bn_backward(const ConvBnParams& p, const Tensor& dy, const Tensor& x, const Tensor& w,
                      const Tensor& gamma, const Tensor& z, const Tensor& y,
                      const Tensor& save_mean, const Tensor& save_var, Tensor* dx, Tensor& dw,
                      Tensor& dgamma, Tensor& dbeta) {
  Geometry g = geometry(p, x, w);
  const bool need_dx = dx != nullptr;
  Backward& b = cache().get<Backward>(geometry_key(need_dx ? "conv_bn_bwd_dx" : "conv_bn_bwd", p, g),
                                      [&] { return make_backward(p, g, need_dx); });
  auto& s = stream();
  size_t pad_bytes = max_scratchpad({b.bn_pd.scratchpad_desc(), b.weights_pd.scratchpad_desc()});
  if (need_dx) pad_bytes = std::max(pad_bytes, b.data_pd.scratchpad_desc().get_size());
  void* pad = scratch(Scratch::Pad, pad_bytes);

  // dBN-out (N, Ho, Wo, Cout) = dy through the ReLU's mask.
  const int64_t count = y.numel();
  const float* dyp = dy.data<float>();
  memory dbn_mem = wrap(g.y_md, dy);
  if (p.relu) {
    float* masked = scratch_as<float>(Scratch::Act0, count);
    const float* yp = y.data<float>();
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < count; ++i) masked[i] = yp[i] > 0.f ? dyp[i] : 0.f;
    dbn_mem = wrap(g.y_md, masked);
  }
  // dz (N, Ho, Wo, Cout): gradient at the convolution's output.
  memory dz_mem = wrap(g.y_md, scratch(Scratch::Act1, g.y_md.get_size()));
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
