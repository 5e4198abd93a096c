// Per-environment state of the addon (one per Node thread that loads it).
#pragma once

#include <napi.h>

namespace senet::addon {

struct AddonData {
  Napi::FunctionReference tensor_ctor;
};

/// Registers the op functions on exports (ops_glue.cc).
void register_ops(Napi::Env env, Napi::Object exports);

}  // namespace senet::addon
