// Pooling on oneDNN. Max-pool backward in oneDNN needs the workspace of a training-mode forward;
// our op's backward receives (dy, x, y) as cuDNN's does, so it reruns that forward (the stem's
// pool is cheap beside its convolutions) to get the workspace, then runs oneDNN's backward.
// In mixed precision the max pool runs on bf16 maps (a max needs no rounding); global average
// pooling of a bf16 map is our own loop, averaging in float32 into float32 features.
#include "core/bf16.h"
#include "cpu/dnnl_context.h"
#include "ops/pool.h"

namespace senet::cpu {

namespace {

using dnnl::memory;

struct PoolGeometry {
  memory::desc x_md, y_md;
  memory::dims strides, kernel, pad_l, pad_r;
};

PoolGeometry max_window(const MaxPoolParams& p, const Tensor& x) {
  const int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  const int64_t ho = window_output_size(h, p.kernel_h, p.stride_h, p.pad_h);
  const int64_t wo = window_output_size(w, p.kernel_w, p.stride_w, p.pad_w);
  const auto type = x.dtype == DType::BF16 ? memory::data_type::bf16 : memory::data_type::f32;
  return {memory::desc({n, c, h, w}, type, memory::format_tag::nhwc), memory::desc({n, c, ho, wo}, type, memory::format_tag::nhwc),
          {p.stride_h, p.stride_w}, {p.kernel_h, p.kernel_w},
          {p.pad_h, p.pad_w},
          {(ho - 1) * p.stride_h + p.kernel_h - h - p.pad_h, (wo - 1) * p.stride_w + p.kernel_w - w - p.pad_w}};
}

PoolGeometry global_window(const Tensor& x) {
  const int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  return {nhwc(n, c, h, w), nhwc(n, c, 1, 1), {1, 1}, {h, w}, {0, 0}, {0, 0}};
}

std::string window_key(const char* op, const PoolGeometry& win) {
  auto d = win.x_md.dims();
  return key(op, d[0], d[1], d[2], d[3], win.kernel[0], win.kernel[1], win.strides[0],
             win.strides[1], win.pad_l[0], win.pad_l[1], static_cast<int>(win.x_md.data_type()));
}

dnnl::pooling_forward::primitive_desc forward_pd(dnnl::prop_kind prop, dnnl::algorithm alg,
                                                 const PoolGeometry& win) {
  auto d = SENET_DNNL(dnnl::pooling_forward::desc(prop, alg, win.x_md, win.y_md, win.strides,
                                                  win.kernel, win.pad_l, win.pad_r));
  return SENET_DNNL(dnnl::pooling_forward::primitive_desc(d, user_scratchpad(), engine()));
}

struct Forward {
  dnnl::pooling_forward::primitive_desc pd;
  dnnl::pooling_forward prim;
};

struct Backward {
  dnnl::pooling_forward::primitive_desc fwd_pd;  // training mode: produces the workspace
  dnnl::pooling_forward fwd;
  dnnl::pooling_backward::primitive_desc pd;
  dnnl::pooling_backward prim;
};

Forward make_forward(dnnl::algorithm alg, const PoolGeometry& win) {
  Forward f;
  f.pd = forward_pd(dnnl::prop_kind::forward_inference, alg, win);
  f.prim = SENET_DNNL(dnnl::pooling_forward(f.pd));
  return f;
}

Backward make_backward(dnnl::algorithm alg, const PoolGeometry& win) {
  Backward b;
  b.fwd_pd = forward_pd(dnnl::prop_kind::forward_training, alg, win);
  b.fwd = SENET_DNNL(dnnl::pooling_forward(b.fwd_pd));
  auto d = SENET_DNNL(dnnl::pooling_backward::desc(alg, win.x_md, win.y_md, win.strides, win.kernel,
                                                   win.pad_l, win.pad_r));
  b.pd = SENET_DNNL(dnnl::pooling_backward::primitive_desc(d, user_scratchpad(), engine(), b.fwd_pd));
  b.prim = SENET_DNNL(dnnl::pooling_backward(b.pd));
  return b;
}

void run_forward(dnnl::algorithm alg, const char* op, const PoolGeometry& win, const Tensor& x, const Tensor& y) {
  Forward& f = cache().get<Forward>(window_key(op, win), [&] { return make_forward(alg, win); });
  SENET_DNNL(f.prim.execute(stream(), {{DNNL_ARG_SRC, wrap(win.x_md, x)},
                                      {DNNL_ARG_DST, wrap(win.y_md, y)},
                                      {DNNL_ARG_SCRATCHPAD, scratchpad(f.pd.scratchpad_desc())}}));
  SENET_DNNL(stream().wait());
}

}  // namespace

void max_pool_forward(const MaxPoolForward& a) {
  run_forward(dnnl::algorithm::pooling_max, "max_pool_fwd", max_window(a.p, a.x), a.x, a.y);
}

void max_pool_backward(const MaxPoolBackward& a) {
  const Tensor &dy = a.dy, &x = a.x, &dx = a.dx;
  PoolGeometry win = max_window(a.p, x);
  Backward& b = cache().get<Backward>(window_key("max_pool_bwd", win), [&] {
    return make_backward(dnnl::algorithm::pooling_max, win);
  });
  auto& s = stream();
  memory ws = wrap(b.fwd_pd.workspace_desc(), scratch(Scratch::Act0, b.fwd_pd.workspace_desc().get_size()));
  memory y_again = wrap(win.y_md, scratch(Scratch::Act1, win.y_md.get_size()));
  size_t pad = std::max(b.fwd_pd.scratchpad_desc().get_size(), b.pd.scratchpad_desc().get_size());
  void* pad_buf = scratch(Scratch::Pad, pad);
  SENET_DNNL(b.fwd.execute(s, {{DNNL_ARG_SRC, wrap(win.x_md, x)},
                              {DNNL_ARG_DST, y_again},
                              {DNNL_ARG_WORKSPACE, ws},
                              {DNNL_ARG_SCRATCHPAD, wrap(b.fwd_pd.scratchpad_desc(), pad_buf)}}));
  SENET_DNNL(b.prim.execute(s, {{DNNL_ARG_DIFF_DST, wrap(win.y_md, dy)},
                               {DNNL_ARG_WORKSPACE, ws},
                               {DNNL_ARG_DIFF_SRC, wrap(win.x_md, dx)},
                               {DNNL_ARG_SCRATCHPAD, wrap(b.pd.scratchpad_desc(), pad_buf)}}));
  SENET_DNNL(s.wait());
}

namespace {

// y (N, C) float32 = the mean over H, W of a bf16 x (N, H, W, C).
void gap_forward_bf16(const Tensor& x, const Tensor& y) {
  const int64_t n = x.dim(0), hw = x.dim(1) * x.dim(2), c = x.dim(3);
  const bf16* xp = x.data<bf16>();
  float* yp = y.data<float>();
  const float inv = 1.f / static_cast<float>(hw);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float* __restrict out = yp + i * c;
    for (int64_t k = 0; k < c; ++k) out[k] = 0.f;
    for (int64_t q = 0; q < hw; ++q) {
      const bf16* __restrict row = xp + (i * hw + q) * c;
#pragma omp simd
      for (int64_t k = 0; k < c; ++k) out[k] += load(row, k);
    }
    for (int64_t k = 0; k < c; ++k) out[k] *= inv;
  }
}

// dx (N, H, W, C) bf16 = dy (N, C) / (H W) at every position.
void gap_backward_bf16(const Tensor& dy, const Tensor& dx) {
  const int64_t n = dx.dim(0), hw = dx.dim(1) * dx.dim(2), c = dx.dim(3);
  const float* g = dy.data<float>();
  bf16* out = dx.data<bf16>();
  const float inv = 1.f / static_cast<float>(hw);
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < n * hw; ++row) {
    const float* __restrict gi = g + (row / hw) * c;
    bf16* __restrict o = out + row * c;
#pragma omp simd
    for (int64_t k = 0; k < c; ++k) store(o, k, gi[k] * inv);
  }
}

}  // namespace

void global_avg_pool_forward(const GlobalAvgPoolForward& a) {
  if (a.x.dtype == DType::BF16) return gap_forward_bf16(a.x, a.y);
  run_forward(dnnl::algorithm::pooling_avg_exclude_padding, "gap_fwd", global_window(a.x), a.x, a.y);
}

void global_avg_pool_backward(const GlobalAvgPoolBackward& a) {
  const Tensor &dy = a.dy, &dx = a.dx;
  if (dx.dtype == DType::BF16) return gap_backward_bf16(dy, dx);
  PoolGeometry win = global_window(dx);
  const auto alg = dnnl::algorithm::pooling_avg_exclude_padding;
  Backward& b = cache().get<Backward>(window_key("gap_bwd", win), [&] { return make_backward(alg, win); });
  SENET_DNNL(b.prim.execute(stream(), {{DNNL_ARG_DIFF_DST, wrap(win.y_md, dy)},
                                      {DNNL_ARG_DIFF_SRC, wrap(win.x_md, dx)},
                                      {DNNL_ARG_SCRATCHPAD, scratchpad(b.pd.scratchpad_desc())}}));
  SENET_DNNL(stream().wait());
}

}  // namespace senet::cpu
