#include "cpu/threads.h"

#include <omp.h>

#include <atomic>

#include "core/error.h"
#include "core/executor.h"

namespace senet::cpu {

namespace {
std::atomic<int> g_threads{0};
}

void set_num_threads(int n) {
  if (n < 1 || n > 4096)
    throw_error(ErrorCode::Argument, "setNumThreads: n: expected an integer in [1, 4096], received " + std::to_string(n));
  g_threads = n;
  Executor::of(Device::Cpu).submit_always([n] { omp_set_num_threads(n); });
}

int num_threads() {
  const int n = g_threads.load();
  return n > 0 ? n : omp_get_max_threads();
}

}  // namespace senet::cpu
