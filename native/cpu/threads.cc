#include "cpu/threads.h"

#include <omp.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>

#include "core/error.h"
#include "core/executor.h"

namespace senet::cpu {

namespace {

std::atomic<int> g_threads{0};

// The compute threads (the executor's and its OpenMP team) run at a slightly lower priority than
// the JavaScript thread, so that the few milliseconds of JavaScript a step needs (queueing ops,
// timers, a server's requests) are not made to wait behind both cores' arithmetic: on two cores
// the longest timer gap of a training epoch went from 50-56 ms to 39-49 ms at +2, with training
// throughput within noise (README, "Using senet in a server"). SENET_COMPUTE_NICE sets the increment (0: none).
int nice_increment() {
  const char* e = std::getenv("SENET_COMPUTE_NICE");
  return e && *e ? std::atoi(e) : 2;
}

void lower_priority(int increment) {
  const id_t tid = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  const int current = getpriority(PRIO_PROCESS, tid);
  if (errno == 0) setpriority(PRIO_PROCESS, tid, current + increment);
}

void configure_team() {
  static const int increment = nice_increment();
  if (increment <= 0) return;
  lower_priority(increment);
#pragma omp parallel
  if (omp_get_thread_num() != 0) lower_priority(increment);
}

// Runs on the CPU executor's thread before its first task.
const bool g_registered = [] {
  Executor::set_thread_init(Device::Cpu, &configure_team);
  return true;
}();

}  // namespace

void set_num_threads(int n) {
  if (n < 1 || n > 4096)
    throw_error(ErrorCode::Argument, "setNumThreads: n: expected an integer in [1, 4096], received " + std::to_string(n));
  g_threads = n;
  Executor::of(Device::Cpu).submit_always([n] {
    omp_set_num_threads(n);
    // A larger team has new threads; lowering twice is harmless (nice saturates at 19).
    configure_team();
  });
}

int num_threads() {
  const int n = g_threads.load();
  return n > 0 ? n : omp_get_max_threads();
}

}  // namespace senet::cpu
