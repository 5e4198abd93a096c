// JS entry points of the ops: unpack arguments into tensors and params structs, call the op.
// Argument order follows binding.d.ts; outputs are passed in, so the caller owns every buffer.
#include "addon/addon_data.h"
#include "addon/convert.h"
#include "ops/conv_bn.h"
#include "ops/linear.h"
#include "ops/loss.h"
#include "ops/pool.h"
#include "ops/se.h"
#include "ops/sgd.h"
#include "ops/tensor_ops.h"

namespace senet::addon {

namespace {

ConvBnParams conv_bn_params(const Args& a, size_t i) {
  Napi::Object o = a.object(i, "params");
  ConvBnParams p;
  p.kernel_h = a.int_field(o, "kernelH", p.kernel_h);
  p.kernel_w = a.int_field(o, "kernelW", p.kernel_w);
  p.stride_h = a.int_field(o, "strideH", p.stride_h);
  p.stride_w = a.int_field(o, "strideW", p.stride_w);
  p.pad_h = a.int_field(o, "padH", p.pad_h);
  p.pad_w = a.int_field(o, "padW", p.pad_w);
  p.groups = a.int_field(o, "groups", p.groups);
  p.relu = a.bool_field(o, "relu", p.relu);
  p.training = a.bool_field(o, "training", p.training);
  p.eps = a.float_field(o, "eps", p.eps);
  p.momentum = a.float_field(o, "momentum", p.momentum);
  return p;
}

MaxPoolParams max_pool_params(const Args& a, size_t i) {
  Napi::Object o = a.object(i, "params");
  MaxPoolParams p;
  p.kernel_h = a.int_field(o, "kernelH", p.kernel_h);
  p.kernel_w = a.int_field(o, "kernelW", p.kernel_w);
  p.stride_h = a.int_field(o, "strideH", p.stride_h);
  p.stride_w = a.int_field(o, "strideW", p.stride_w);
  p.pad_h = a.int_field(o, "padH", p.pad_h);
  p.pad_w = a.int_field(o, "padW", p.pad_w);
  return p;
}

CrossEntropyParams cross_entropy_params(const Args& a, size_t i) {
  Napi::Object o = a.object(i, "params");
  CrossEntropyParams p;
  p.label_smoothing = a.float_field(o, "labelSmoothing", p.label_smoothing);
  return p;
}

SgdParams sgd_params(const Args& a, size_t i) {
  Napi::Object o = a.object(i, "params");
  SgdParams p;
  p.lr = a.float_field(o, "lr", p.lr);
  p.momentum = a.float_field(o, "momentum", p.momentum);
  p.dampening = a.float_field(o, "dampening", p.dampening);
  p.weight_decay = a.float_field(o, "weightDecay", p.weight_decay);
  p.nesterov = a.bool_field(o, "nesterov", p.nesterov);
  p.first_step = a.bool_field(o, "firstStep", p.first_step);
  return p;
}

// Each entry point: a name for messages and a body that reads Args and calls the op.
template <void (*Body)(const Args&)>
Napi::Value entry(const Napi::CallbackInfo& info, const char* name) {
  return guarded(info, [&]() -> Napi::Value {
    Body(Args(info, name));
    return info.Env().Undefined();
  });
}

void conv_bn_forward_js(const Args& a) {
  conv_bn_forward(conv_bn_params(a, 10), a.tensor(0, "x"), a.tensor(1, "w"), a.tensor(2, "gamma"),
                  a.tensor(3, "beta"), a.tensor(4, "runningMean"), a.tensor(5, "runningVar"),
                  a.tensor(6, "y"), a.optional_tensor(7, "z"), a.optional_tensor(8, "saveMean"),
                  a.optional_tensor(9, "saveVar"));
}

void conv_bn_backward_js(const Args& a) {
  conv_bn_backward(conv_bn_params(a, 12), a.tensor(0, "dy"), a.tensor(1, "x"), a.tensor(2, "w"),
                   a.tensor(3, "gamma"), a.tensor(4, "z"), a.tensor(5, "y"), a.tensor(6, "saveMean"),
                   a.tensor(7, "saveVar"), a.optional_tensor(8, "dx"), a.tensor(9, "dw"),
                   a.tensor(10, "dgamma"), a.tensor(11, "dbeta"));
}

void se_forward_js(const Args& a) {
  se_forward(a.tensor(0, "u"), a.tensor(1, "w1"), a.tensor(2, "b1"), a.tensor(3, "w2"), a.tensor(4, "b2"),
             a.optional_tensor(5, "shortcut"), a.tensor(6, "y"), a.tensor(7, "pooled"),
             a.tensor(8, "hidden"), a.tensor(9, "gate"));
}

void se_backward_js(const Args& a) {
  se_backward(a.tensor(0, "dy"), a.tensor(1, "u"), a.optional_tensor(2, "y"), a.tensor(3, "w1"),
              a.tensor(4, "w2"), a.tensor(5, "pooled"), a.tensor(6, "hidden"), a.tensor(7, "gate"),
              a.tensor(8, "du"), a.optional_tensor(9, "dshortcut"), a.tensor(10, "dw1"),
              a.tensor(11, "db1"), a.tensor(12, "dw2"), a.tensor(13, "db2"));
}

void max_pool_forward_js(const Args& a) {
  max_pool_forward(max_pool_params(a, 2), a.tensor(0, "x"), a.tensor(1, "y"));
}

void max_pool_backward_js(const Args& a) {
  max_pool_backward(max_pool_params(a, 4), a.tensor(0, "dy"), a.tensor(1, "x"), a.tensor(2, "y"),
                    a.tensor(3, "dx"));
}

void global_avg_pool_forward_js(const Args& a) { global_avg_pool_forward(a.tensor(0, "x"), a.tensor(1, "y")); }

void global_avg_pool_backward_js(const Args& a) {
  global_avg_pool_backward(a.tensor(0, "dy"), a.tensor(1, "dx"));
}

void linear_forward_js(const Args& a) {
  linear_forward(a.tensor(0, "x"), a.tensor(1, "w"), a.optional_tensor(2, "b"), a.tensor(3, "y"));
}

void linear_backward_js(const Args& a) {
  linear_backward(a.tensor(0, "dy"), a.tensor(1, "x"), a.tensor(2, "w"), a.optional_tensor(3, "dx"),
                  a.tensor(4, "dw"), a.optional_tensor(5, "db"));
}

void cross_entropy_forward_js(const Args& a) {
  cross_entropy_forward(cross_entropy_params(a, 4), a.tensor(0, "logits"), a.tensor(1, "labels"),
                        a.tensor(2, "loss"), a.optional_tensor(3, "correct"));
}

void cross_entropy_backward_js(const Args& a) {
  cross_entropy_backward(cross_entropy_params(a, 3), a.tensor(0, "logits"), a.tensor(1, "labels"),
                         a.tensor(2, "dlogits"));
}

void sgd_step_js(const Args& a) {
  sgd_step(sgd_params(a, 3), a.tensor(0, "param"), a.tensor(1, "grad"), a.optional_tensor(2, "momentumBuffer"));
}

void fill_js(const Args& a) { fill(a.tensor(0, "tensor"), a.number(1, "value")); }

void fill_normal_js(const Args& a) {
  fill_normal(a.tensor(0, "tensor"), static_cast<float>(a.number(1, "mean")),
              static_cast<float>(a.number(2, "std")), a.seed(3, "seed"));
}

void fill_uniform_js(const Args& a) {
  fill_uniform(a.tensor(0, "tensor"), static_cast<float>(a.number(1, "low")),
               static_cast<float>(a.number(2, "high")), a.seed(3, "seed"));
}

void copy_js(const Args& a) { copy(a.tensor(0, "src"), a.tensor(1, "dst")); }

void add_js(const Args& a) { add(a.tensor(0, "a"), a.tensor(1, "b"), a.tensor(2, "out")); }

Napi::Value count_non_finite_js(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Args a(info, "countNonFinite");
    return Napi::Number::New(info.Env(), static_cast<double>(count_non_finite(a.tensor(0, "tensor"))));
  });
}

struct Entry {
  const char* name;
  Napi::Value (*fn)(const Napi::CallbackInfo&);
};

#define SENET_ENTRY(js_name, body) \
  {js_name, [](const Napi::CallbackInfo& info) { return entry<body>(info, js_name); }}

const Entry kEntries[] = {
    SENET_ENTRY("convBnForward", conv_bn_forward_js),
    SENET_ENTRY("convBnBackward", conv_bn_backward_js),
    SENET_ENTRY("seForward", se_forward_js),
    SENET_ENTRY("seBackward", se_backward_js),
    SENET_ENTRY("maxPoolForward", max_pool_forward_js),
    SENET_ENTRY("maxPoolBackward", max_pool_backward_js),
    SENET_ENTRY("globalAvgPoolForward", global_avg_pool_forward_js),
    SENET_ENTRY("globalAvgPoolBackward", global_avg_pool_backward_js),
    SENET_ENTRY("linearForward", linear_forward_js),
    SENET_ENTRY("linearBackward", linear_backward_js),
    SENET_ENTRY("crossEntropyForward", cross_entropy_forward_js),
    SENET_ENTRY("crossEntropyBackward", cross_entropy_backward_js),
    SENET_ENTRY("sgdStep", sgd_step_js),
    SENET_ENTRY("fill", fill_js),
    SENET_ENTRY("fillNormal", fill_normal_js),
    SENET_ENTRY("fillUniform", fill_uniform_js),
    SENET_ENTRY("copy", copy_js),
    SENET_ENTRY("add", add_js),
    {"countNonFinite", count_non_finite_js},
};

}  // namespace

void register_ops(Napi::Env env, Napi::Object exports) {
  for (const Entry& e : kEntries) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
}

}  // namespace senet::addon
