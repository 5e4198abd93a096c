// JS entry points of the ops: each reads one object of named arguments into the op's struct
// (ops/*.h), allocates the outputs left undefined, queues the op, and returns the outputs.
#include "addon/addon_data.h"
#include "addon/convert.h"
#include "addon/op_call.h"
#include "addon/tensor_wrap.h"
#include "ops/conv_bn.h"
#include "ops/linear.h"
#include "ops/loss.h"
#include "ops/pool.h"
#include "ops/se.h"
#include "ops/sgd.h"
#include "ops/tensor_ops.h"

namespace senet::addon {

namespace {

void read_window(const OpCall& o, const Napi::Object& p, Window& w) {
  w.kernel_h = o.int_field(p, "kernelH", w.kernel_h);
  w.kernel_w = o.int_field(p, "kernelW", w.kernel_w);
  w.stride_h = o.int_field(p, "strideH", w.stride_h);
  w.stride_w = o.int_field(p, "strideW", w.stride_w);
  w.pad_h = o.int_field(p, "padH", w.pad_h);
  w.pad_w = o.int_field(p, "padW", w.pad_w);
}

ConvBnParams conv_bn_params(const OpCall& o) {
  Napi::Object p = o.params();
  ConvBnParams c;
  read_window(o, p, c);
  c.groups = o.int_field(p, "groups", c.groups);
  c.relu = o.bool_field(p, "relu", c.relu);
  c.training = o.bool_field(p, "training", c.training);
  c.eps = o.float_field(p, "eps", c.eps);
  c.momentum = o.float_field(p, "momentum", c.momentum);
  c.tf32 = o.bool_field(p, "tf32", c.tf32);
  return c;
}

MaxPoolParams max_pool_params(const OpCall& o) {
  MaxPoolParams m;
  read_window(o, o.params(), m);
  return m;
}

CrossEntropyParams cross_entropy_params(const OpCall& o) {
  Napi::Object p = o.params();
  CrossEntropyParams c;
  c.label_smoothing = o.float_field(p, "labelSmoothing", c.label_smoothing);
  return c;
}

SgdParams sgd_params(const OpCall& o) {
  Napi::Object p = o.params();
  SgdParams s;
  s.lr = o.float_field(p, "lr", s.lr);
  s.momentum = o.float_field(p, "momentum", s.momentum);
  s.dampening = o.float_field(p, "dampening", s.dampening);
  s.weight_decay = o.float_field(p, "weightDecay", s.weight_decay);
  s.nesterov = o.bool_field(p, "nesterov", s.nesterov);
  s.first_step = o.bool_field(p, "firstStep", s.first_step);
  return s;
}

Napi::Array shape_js(Napi::Env env, const Shape& s) {
  Napi::Array a = Napi::Array::New(env, s.size());
  for (size_t i = 0; i < s.size(); ++i) a.Set(static_cast<uint32_t>(i), static_cast<double>(s[i]));
  return a;
}

ConvBnForward conv_bn_forward_inputs(const OpCall& o) {
  ConvBnForward a;
  a.p = conv_bn_params(o);
  a.x = o.in("x");
  a.w = o.in("w");
  a.gamma = o.in("gamma");
  a.beta = o.in("beta");
  a.running_mean = o.in("runningMean");
  a.running_var = o.in("runningVar");
  return a;
}

// The output shape of convBnForward for these inputs (what a module sizes its buffers with).
Napi::Value conv_bn_output_shape_js(OpCall& o) {
  return shape_js(o.result().Env(), conv_bn_forward_shapes(conv_bn_forward_inputs(o)).y);
}

Napi::Value max_pool_output_shape_js(OpCall& o) {
  MaxPoolForward a;
  a.p = max_pool_params(o);
  a.x = o.in("x");
  return shape_js(o.result().Env(), max_pool_forward_shape(a));
}

Napi::Value conv_bn_forward_js(OpCall& o) {
  ConvBnForward a = conv_bn_forward_inputs(o);
  // The shapes are worked out (a second pass of checks) only when an output is to be made.
  ConvBnForwardShapes s;
  if (o.any_undefined({"y", "z", "saveMean", "saveVar"})) s = conv_bn_forward_shapes(a);
  const Device d = a.x.device();
  const DType act = a.x.dtype;  // activations keep the input's type (float32 or bf16)
  o.out("y", a.y, s.y, d, act);
  o.out("z", a.z, s.z, d, act);
  o.out("saveMean", a.save_mean, s.save_mean, d);
  o.out("saveVar", a.save_var, s.save_var, d);
  conv_bn_forward(a);
  return o.result();
}

Napi::Value conv_bn_backward_js(OpCall& o) {
  ConvBnBackward a;
  a.p = conv_bn_params(o);
  a.dy = o.in("dy");
  a.x = o.in("x");
  a.w = o.in("w");
  a.gamma = o.in("gamma");
  a.z = o.in("z");
  a.y = o.in("y");
  a.save_mean = o.in("saveMean");
  a.save_var = o.in("saveVar");
  ConvBnBackwardShapes s;
  if (o.any_undefined({"dx", "dw", "dgamma", "dbeta"})) s = conv_bn_backward_shapes(a);
  const Device d = a.x.device();
  o.out("dx", a.dx, s.dx, d, a.x.dtype);
  o.out("dw", a.dw, s.dw, d);
  o.out("dgamma", a.dgamma, s.dgamma, d);
  o.out("dbeta", a.dbeta, s.dbeta, d);
  conv_bn_backward(a);
  return o.result();
}

Napi::Value se_forward_js(OpCall& o) {
  SeForward a;
  a.u = o.in("u");
  a.w1 = o.in("w1");
  a.b1 = o.in("b1");
  a.w2 = o.in("w2");
  a.b2 = o.in("b2");
  a.shortcut = o.optional("shortcut");
  SeForwardShapes s;
  if (o.any_undefined({"y", "pooled", "hidden", "gate"})) s = se_forward_shapes(a);
  const Device d = a.u.device();
  o.out("y", a.y, s.y, d, a.u.dtype);
  o.out("pooled", a.pooled, s.pooled, d);
  o.out("hidden", a.hidden, s.hidden, d);
  o.out("gate", a.gate, s.gate, d);
  se_forward(a);
  return o.result();
}

Napi::Value se_backward_js(OpCall& o) {
  SeBackward a;
  a.residual = o.bool_field(o.params(), "residual", false);
  a.dy = o.in("dy");
  a.u = o.in("u");
  a.y = o.optional("y");
  a.w1 = o.in("w1");
  a.w2 = o.in("w2");
  a.pooled = o.in("pooled");
  a.hidden = o.in("hidden");
  a.gate = o.in("gate");
  SeBackwardShapes s;
  if (o.any_undefined({"du", "dshortcut", "dw1", "db1", "dw2", "db2"})) s = se_backward_shapes(a);
  const Device d = a.u.device();
  o.out("du", a.du, s.du, d, a.u.dtype);
  o.out("dshortcut", a.dshortcut, s.dshortcut, d, a.u.dtype);
  o.out("dw1", a.dw1, s.dw1, d);
  o.out("db1", a.db1, s.db1, d);
  o.out("dw2", a.dw2, s.dw2, d);
  o.out("db2", a.db2, s.db2, d);
  se_backward(a);
  return o.result();
}

Napi::Value max_pool_forward_js(OpCall& o) {
  MaxPoolForward a;
  a.p = max_pool_params(o);
  a.x = o.in("x");
  o.out("y", a.y, o.any_undefined({"y"}) ? max_pool_forward_shape(a) : Shape{}, a.x.device(), a.x.dtype);
  max_pool_forward(a);
  return o.result();
}

Napi::Value max_pool_backward_js(OpCall& o) {
  MaxPoolBackward a;
  a.p = max_pool_params(o);
  a.dy = o.in("dy");
  a.x = o.in("x");
  a.y = o.in("y");
  o.out("dx", a.dx, o.any_undefined({"dx"}) ? max_pool_backward_shape(a) : Shape{}, a.x.device(), a.x.dtype);
  max_pool_backward(a);
  return o.result();
}

Napi::Value global_avg_pool_forward_js(OpCall& o) {
  GlobalAvgPoolForward a;
  a.x = o.in("x");
  o.out("y", a.y, o.any_undefined({"y"}) ? global_avg_pool_forward_shape(a) : Shape{}, a.x.device());
  global_avg_pool_forward(a);
  return o.result();
}

Napi::Value global_avg_pool_backward_js(OpCall& o) {
  GlobalAvgPoolBackward a;
  Napi::Object p = o.params();
  a.height = o.size_field(p, "height", 0);
  a.width = o.size_field(p, "width", 0);
  a.dy = o.in("dy");
  a.dx = o.optional("dx");
  // A dx to be made is float32 unless params.dtype says otherwise (bfloat16 in mixed precision).
  const DType dx_type = o.dtype_field(p, "dtype", DType::F32);
  if (!a.dx.storage) o.out("dx", a.dx, global_avg_pool_backward_shape(a), a.dy.device(), dx_type);
  else o.out("dx", a.dx, std::nullopt, a.dy.device());
  global_avg_pool_backward(a);
  return o.result();
}

Napi::Value linear_forward_js(OpCall& o) {
  LinearForward a;
  a.tf32 = o.bool_field(o.params(), "tf32", false);
  a.x = o.in("x");
  a.w = o.in("w");
  a.b = o.optional("b");
  o.out("y", a.y, o.any_undefined({"y"}) ? linear_forward_shape(a) : Shape{}, a.x.device());
  linear_forward(a);
  return o.result();
}

Napi::Value linear_backward_js(OpCall& o) {
  LinearBackward a;
  a.bias = o.bool_field(o.params(), "bias", true);
  a.tf32 = o.bool_field(o.params(), "tf32", false);
  a.dy = o.in("dy");
  a.x = o.in("x");
  a.w = o.in("w");
  LinearBackwardShapes s;
  if (o.any_undefined({"dx", "dw", "db"})) s = linear_backward_shapes(a);
  const Device d = a.x.device();
  o.out("dx", a.dx, s.dx, d);
  o.out("dw", a.dw, s.dw, d);
  o.out("db", a.db, s.db, d);
  linear_backward(a);
  return o.result();
}

Napi::Value cross_entropy_forward_js(OpCall& o) {
  CrossEntropyForward a;
  a.p = cross_entropy_params(o);
  a.logits = o.in("logits");
  a.labels = o.in("labels");
  const Device d = a.logits.device();
  o.out("loss", a.loss, Shape{}, d);
  o.out("correct", a.correct, Shape{}, d, DType::I32);
  cross_entropy_forward(a);
  return o.result();
}

Napi::Value cross_entropy_backward_js(OpCall& o) {
  CrossEntropyBackward a;
  a.p = cross_entropy_params(o);
  a.logits = o.in("logits");
  a.labels = o.in("labels");
  if (o.any_undefined({"dlogits"})) cross_entropy_check_inputs(o.op(), a.p, a.logits, a.labels);
  o.out("dlogits", a.dlogits, a.logits.shape, a.logits.device());
  cross_entropy_backward(a);
  return o.result();
}

Napi::Value softmax_js(OpCall& o) {
  Softmax a;
  a.logits = o.in("logits");
  o.out("probabilities", a.probabilities, a.logits.shape, a.logits.device());
  softmax(a);
  return o.result();
}

Napi::Value sgd_step_js(OpCall& o) {
  SgdStep a;
  a.p = sgd_params(o);
  a.param = o.in("param");
  a.grad = o.in("grad");
  a.momentum_buffer = o.optional("momentumBuffer");
  a.skip = o.optional("skip");
  a.param_copy = o.optional("paramCopy");
  sgd_step(a);
  return o.result();
}

Napi::Value sgd_check_params_js(OpCall& o) {
  sgd_check_params("SGD", sgd_params(o));
  return o.result();
}

Napi::Value fill_js(OpCall& o) {
  Fill a;
  a.tensor = o.in("tensor");
  a.value = o.number_field(o.params(), "value", 0);
  fill(a);
  return o.result();
}

uint64_t read_seed(const OpCall& o, const Napi::Object& p) {
  Napi::Value v = p.Get("seed");
  if (v.IsUndefined()) return 0;
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t s = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) o.fail(ErrorCode::Argument, "seed: expected a bigint in [0, 2^64)");
    return s;
  }
  return static_cast<uint64_t>(o.size_field(p, "seed", 0));
}

Napi::Value fill_random_js(OpCall& o, FillRandom::Kind kind) {
  FillRandom a;
  a.kind = kind;
  a.tensor = o.in("tensor");
  Napi::Object p = o.params();
  const bool normal = kind == FillRandom::Kind::Normal;
  a.a = o.float_field(p, normal ? "mean" : "low", 0.f);
  a.b = o.float_field(p, normal ? "std" : "high", 1.f);
  a.seed = read_seed(o, p);
  fill_random(a);
  return o.result();
}

Napi::Value fill_normal_js(OpCall& o) { return fill_random_js(o, FillRandom::Kind::Normal); }
Napi::Value fill_uniform_js(OpCall& o) { return fill_random_js(o, FillRandom::Kind::Uniform); }

Napi::Value copy_js(OpCall& o) {
  Copy a;
  a.src = o.in("src");
  a.dst = o.in("dst");
  a.only_if = o.optional("onlyIf");
  copy(a);
  return o.result();
}

Napi::Value add_js(OpCall& o) {
  Add a;
  a.a = o.in("a");
  a.b = o.in("b");
  o.out("out", a.out, a.a.shape, a.a.device(), a.a.dtype);
  add(a);
  return o.result();
}

Napi::Value cast_js(OpCall& o) {
  Cast a;
  a.x = o.in("x");
  // Default: the other of float32 and bfloat16 (the op refuses any other type for y).
  const DType dtype = o.dtype_field(o.params(), "dtype", a.x.dtype == DType::BF16 ? DType::F32 : DType::BF16);
  o.out("y", a.y, a.x.shape, a.x.device(), dtype);
  cast(a);
  return o.result();
}

Napi::Value count_non_finite_js(OpCall& o) {
  CountNonFinite a;
  a.tensors = o.list("tensors");
  const Device d = a.tensors.empty() ? Device::Cpu : a.tensors.front().device();
  a.accumulate = o.bool_field(o.params(), "accumulate", false);
  // Adding to a count just allocated would add to garbage.
  if (a.accumulate && o.any_undefined({"count"}))
    o.fail(ErrorCode::Argument, "count: expected a Tensor to add to when params.accumulate is true, received undefined");
  o.out("count", a.count, Shape{}, d, DType::I32);
  count_non_finite(a);
  return o.result();
}

Napi::Value normalize_bytes_js(OpCall& o) {
  NormalizeBytes a;
  a.x = o.in("x");
  a.table = o.in("table");
  const DType dtype = o.dtype_field(o.params(), "dtype", DType::F32);
  o.out("y", a.y, a.x.shape, a.x.device(), dtype);
  normalize_bytes(a);
  return o.result();
}

Napi::Value to_channels_last_js(OpCall& o) {
  ToChannelsLast a;
  a.x = o.in("x");
  Shape s = a.x.shape;
  if (s.size() == 4) s = {s[0], s[2], s[3], s[1]};
  o.out("y", a.y, s, a.x.device());
  to_channels_last(a);
  return o.result();
}

using Body = Napi::Value (*)(OpCall&);

struct Entry {
  const char* name;
  Napi::Value (*fn)(const Napi::CallbackInfo&);
};

template <Body body>
Napi::Value entry(const Napi::CallbackInfo& info, const char* name) {
  return guarded(info, [&]() -> Napi::Value {
    OpCall o(info, name);
    return body(o);
  });
}

#define SENET_ENTRY(js_name, body) \
  {js_name, [](const Napi::CallbackInfo& info) { return entry<body>(info, js_name); }}

const Entry kEntries[] = {
    SENET_ENTRY("convBnForward", conv_bn_forward_js),
    SENET_ENTRY("convBnOutputShape", conv_bn_output_shape_js),
    SENET_ENTRY("maxPoolOutputShape", max_pool_output_shape_js),
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
    SENET_ENTRY("softmax", softmax_js),
    SENET_ENTRY("sgdStep", sgd_step_js),
    SENET_ENTRY("sgdCheckParams", sgd_check_params_js),
    SENET_ENTRY("fill", fill_js),
    SENET_ENTRY("fillNormal", fill_normal_js),
    SENET_ENTRY("fillUniform", fill_uniform_js),
    SENET_ENTRY("copy", copy_js),
    SENET_ENTRY("add", add_js),
    SENET_ENTRY("cast", cast_js),
    SENET_ENTRY("countNonFinite", count_non_finite_js),
    SENET_ENTRY("toChannelsLast", to_channels_last_js),
    SENET_ENTRY("normalizeBytes", normalize_bytes_js),
};

}  // namespace

void register_ops(Napi::Env env, Napi::Object exports) {
  for (const Entry& e : kEntries) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
}

}  // namespace senet::addon
