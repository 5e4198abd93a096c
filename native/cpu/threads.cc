#include "cpu/threads.h"

#include <omp.h>

#include <atomic>

#include "core/error.h"
#include "core/executor.h"
#include "cpu/team.h"

namespace senet::cpu {

namespace {

std::atomic<int> g_threads{0};

// The CPU executor's thread sizes its team (cpu/team.h) before its first task and after each.
const bool g_hooks_set = [] {
  Executor::set_thread_hooks(Device::Cpu, {&team_start, &team_after_task});
  return true;
}();

}  // namespace

void set_num_threads(int n) {
  if (n < 1 || n > 4096)
    throw_error(ErrorCode::Argument, "setNumThreads: n: expected an integer in [1, 4096], received " + std::to_string(n));
  g_threads = n;
  Executor::of(Device::Cpu).submit_always([n] { team_request(n); });
}

void reset_num_threads() {
  g_threads = 0;
  Executor::of(Device::Cpu).submit_always([] { team_reset(); });
}

int num_threads() {
  const int n = g_threads.load();
  return n > 0 ? n : team_default_size();
}

ThreadsReport threads_report() {
  const TeamReport t = team_report();
  ThreadsReport r;
  r.requested = num_threads();
  r.quota_cores = team_quota_cores();
  if (g_threads.load() > 0) {
    // Chosen: the team is that size once the work queued before the choice has run.
    r.active = r.requested;
    r.adaptive = false;
  } else {
    // Before the executor's first task the team is the default size.
    r.active = t.active > 0 ? t.active : r.requested;
    r.adaptive = t.active > 0 ? t.adaptive : team_adaptive_setting();
  }
  return r;
}

}  // namespace senet::cpu
