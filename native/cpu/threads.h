// How many threads the CPU backend (oneDNN and our loops, through OpenMP) uses. They are the
// CPU executor's OpenMP team, so the setting is applied on that thread, in queue order.
#pragma once

namespace senet::cpu {

/// Default: OMP_NUM_THREADS, else every core this process may run on, at most its cgroup's quota.
void set_num_threads(int n);
/// Back to the default team: every usable core, fewer while other processes keep cores busy.
void reset_num_threads();
int num_threads();

struct ThreadsReport {
  int requested;  // num_threads()
  int active;     // the team now: fewer while other processes keep cores busy (cpu/team.h)
  bool adaptive;  // whether the team follows the machine's load
  int quota_cores;  // the cgroup's CPU quota in cores, 0 without one
};
ThreadsReport threads_report();

}  // namespace senet::cpu
