// The linear layer on oneDNN's inner product, in PyTorch's (Out, In) weight layout.
#include "cpu/dnnl_context.h"
#include "ops/dispatch.h"
#include "ops/linear.h"

namespace senet::cpu {

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct Mds {
  memory::desc x, w, b, y;
};

Mds mds(int64_t n, int64_t in, int64_t out) {
  return {memory::desc({n, in}, dt::f32, tag::ab), memory::desc({out, in}, dt::f32, tag::ab),
          memory::desc({out}, dt::f32, tag::a), memory::desc({n, out}, dt::f32, tag::ab)};
}

dnnl::inner_product_forward::primitive_desc forward_pd(dnnl::prop_kind prop, const Mds& m, bool bias) {
  auto d = bias ? SENET_DNNL(dnnl::inner_product_forward::desc(prop, m.x, m.w, m.b, m.y))
                : SENET_DNNL(dnnl::inner_product_forward::desc(prop, m.x, m.w, m.y));
  return SENET_DNNL(dnnl::inner_product_forward::primitive_desc(d, user_scratchpad(), engine()));
}

struct Forward {
  dnnl::inner_product_forward::primitive_desc pd;
  dnnl::inner_product_forward prim;
};

struct Backward {
  dnnl::inner_product_backward_data::primitive_desc data_pd;
  dnnl::inner_product_backward_data data;
  dnnl::inner_product_backward_weights::primitive_desc weights_pd;
  dnnl::inner_product_backward_weights weights;
};

}  // namespace

void linear_forward(const LinearForward& a) {
  const Tensor &x = a.x, &w = a.w, &y = a.y;
  const Tensor* b = opt(a.b);
  const int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  Mds m = mds(n, in, out);
  Forward& f = cache().get<Forward>(key("linear_fwd", n, in, out, b != nullptr), [&] {
    Forward f;
    f.pd = forward_pd(dnnl::prop_kind::forward_inference, m, b != nullptr);
    f.prim = SENET_DNNL(dnnl::inner_product_forward(f.pd));
    return f;
  });
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(m.x, x)},
                                       {DNNL_ARG_WEIGHTS, wrap(m.w, w)},
                                       {DNNL_ARG_DST, wrap(m.y, y)},
                                       {DNNL_ARG_SCRATCHPAD, scratchpad(f.pd.scratchpad_desc())}};
  if (b) args[DNNL_ARG_BIAS] = wrap(m.b, *b);
  SENET_DNNL(f.prim.execute(stream(), args));
  SENET_DNNL(stream().wait());
}

void linear_backward(const LinearBackward& a) {
  const Tensor &dy = a.dy, &x = a.x, &w = a.w, &dw = a.dw;
  const Tensor *dx = opt(a.dx), *db = opt(a.db);
  const int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  Mds m = mds(n, in, out);
  const bool bias = db != nullptr;
  Backward& bw = cache().get<Backward>(key("linear_bwd", n, in, out, bias), [&] {
    Backward bw;
    auto hint = forward_pd(dnnl::prop_kind::forward_training, m, bias);
    auto dd = SENET_DNNL(dnnl::inner_product_backward_data::desc(m.x, m.w, m.y));
    bw.data_pd = SENET_DNNL(dnnl::inner_product_backward_data::primitive_desc(dd, user_scratchpad(), engine(), hint));
    bw.data = SENET_DNNL(dnnl::inner_product_backward_data(bw.data_pd));
    auto wd = bias ? SENET_DNNL(dnnl::inner_product_backward_weights::desc(m.x, m.w, m.b, m.y))
                   : SENET_DNNL(dnnl::inner_product_backward_weights::desc(m.x, m.w, m.y));
    bw.weights_pd = SENET_DNNL(dnnl::inner_product_backward_weights::primitive_desc(wd, user_scratchpad(), engine(), hint));
    bw.weights = SENET_DNNL(dnnl::inner_product_backward_weights(bw.weights_pd));
    return bw;
  });
  auto& s = stream();
  if (dx)
    SENET_DNNL(bw.data.execute(s, {{DNNL_ARG_DIFF_DST, wrap(m.y, dy)},
                                  {DNNL_ARG_WEIGHTS, wrap(m.w, w)},
                                  {DNNL_ARG_DIFF_SRC, wrap(m.x, *dx)},
                                  {DNNL_ARG_SCRATCHPAD, scratchpad(bw.data_pd.scratchpad_desc())}}));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(m.x, x)},
                                       {DNNL_ARG_DIFF_DST, wrap(m.y, dy)},
                                       {DNNL_ARG_DIFF_WEIGHTS, wrap(m.w, dw)},
                                       {DNNL_ARG_SCRATCHPAD, scratchpad(bw.weights_pd.scratchpad_desc())}};
  if (db) args[DNNL_ARG_DIFF_BIAS] = wrap(m.b, *db);
  SENET_DNNL(bw.weights.execute(s, args));
  SENET_DNNL(s.wait());
}

}  // namespace senet::cpu
