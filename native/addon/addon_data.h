// Per-environment state of the addon (one per Node thread that loads it).
#pragma once

#include <napi.h>

#include <cstdint>

namespace senet::addon {

struct AddonData {
  Napi::FunctionReference tensor_ctor;
  // Resolves read promises on this thread when an executor has finished a read. Referenced (so
  // that the process stays alive) only while reads are pending.
  Napi::ThreadSafeFunction completions;
  int pending_reads = 0;
  // Tags this environment's queued work (Executor::set_thread_owner).
  uint64_t owner = 0;
  // The JavaScript function that runs a full garbage collection (lib/memory.ts), called before a
  // failed GPU allocation is retried; empty until set.
  Napi::FunctionReference collect_garbage;
};

AddonData& addon_data(Napi::Env env);

/// Registers the op functions on exports (ops_glue.cc).
void register_ops(Napi::Env env, Napi::Object exports);

}  // namespace senet::addon
