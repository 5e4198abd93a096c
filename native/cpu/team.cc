#include "cpu/team.h"

#include "cpu/cpu_quota.h"

#include <omp.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace senet::cpu {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kWindow = std::chrono::milliseconds(200);
constexpr int kAgreeingWindows = 2;

// Jiffies of the cores this process may use, summed.
struct MachineTimes {
  unsigned long long busy = 0;   // user, nice, system, irq, softirq, steal
  unsigned long long total = 0;  // busy + idle + iowait
};

bool read_machine_times(const cpu_set_t& cpus, MachineTimes& out) {
  FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return false;
  MachineTimes t;
  int counted = 0;
  char line[512];
  while (std::fgets(line, sizeof line, f)) {
    int cpu;
    unsigned long long user, nice, system, idle, iowait, irq, softirq, steal;
    // "cpuN user nice system idle iowait irq softirq steal ..." (proc(5)); the "cpu " total line
    // does not match the %d.
    if (std::sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &user, &nice,
                    &system, &idle, &iowait, &irq, &softirq, &steal) != 9)
      continue;
    if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &cpus)) continue;
    const unsigned long long busy = user + nice + system + irq + softirq + steal;
    t.busy += busy;
    t.total += busy + idle + iowait;
    ++counted;
  }
  std::fclose(f);
  if (counted == 0) return false;
  out = t;
  return true;
}

double seconds_of(clockid_t clock) {
  timespec ts;
  if (clock_gettime(clock, &ts) != 0) return -1;  // the thread has gone
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Everything below runs on the CPU executor's thread only, except the atomics.
struct Team {
  int requested = 0;
  int active = 0;
  bool adaptive = false;
  cpu_set_t cpus;
  int cores = 0;  // in `cpus`
  Clock::time_point window_start;
  MachineTimes machine;
  double process_start = 0;  // this process's CPU seconds when the window began
  int proposal = 0;
  int agreeing = 0;
};

Team& team() {
  static Team t;
  return t;
}

std::atomic<int> g_requested{0}, g_active{0};
std::atomic<bool> g_adaptive{false};

void publish(const Team& t) {
  g_requested = t.requested;
  g_active = t.active;
  g_adaptive = t.adaptive;
}

// Starts a window: this process's CPU time and the machine's.
void begin_window(Team& t) {
  t.process_start = seconds_of(CLOCK_PROCESS_CPUTIME_ID);
  if (!read_machine_times(t.cpus, t.machine)) t.adaptive = false;
  t.window_start = Clock::now();
}

void resize(Team& t, int n) {
  t.active = n;
  omp_set_num_threads(n);
  t.proposal = 0;
  t.agreeing = 0;
  publish(t);
}

// The team size the rest of the machine leaves room for, from the window that just ended.
int fitting_size(Team& t, double window_s) {
  MachineTimes now;
  if (!read_machine_times(t.cpus, now)) {
    t.adaptive = false;
    return t.requested;
  }
  const unsigned long long total = now.total - t.machine.total;
  if (total == 0) return t.active;
  const double busy_cores = static_cast<double>(now.busy - t.machine.busy) / static_cast<double>(total) * t.cores;
  // Other processes only (see team.h).
  const double process_s = seconds_of(CLOCK_PROCESS_CPUTIME_ID) - t.process_start;
  const double others = std::max(0.0, busy_cores - std::max(0.0, process_s) / window_s);
  const double free_cores = t.cores - others;
  // Less than half a core taken: the team asked for (which may exceed the cores: the user's call).
  if (free_cores >= std::min(t.requested, t.cores) - 0.5) return t.requested;
  return std::clamp(static_cast<int>(std::lround(free_cores)), 1, t.requested);
}

}  // namespace

void team_start() noexcept {
  Team& t = team();
  t.adaptive = team_adaptive_setting();
  CPU_ZERO(&t.cpus);
  if (sched_getaffinity(0, sizeof t.cpus, &t.cpus) != 0) t.adaptive = false;
  t.cores = CPU_COUNT(&t.cpus);
  if (t.cores < 1) t.adaptive = false;
  if (t.requested == 0) t.requested = team_default_size();
  resize(t, t.requested);
  if (t.adaptive) begin_window(t);
  publish(t);
}

void team_request(int n) noexcept {
  Team& t = team();
  t.requested = n;
  t.adaptive = false;  // a size the user chose is kept: it is also how results stay bit-reproducible
  resize(t, n);
}

void team_reset() noexcept {
  Team& t = team();
  t.requested = team_default_size();
  t.adaptive = team_adaptive_setting() && t.cores >= 1;
  resize(t, t.requested);
  if (t.adaptive) begin_window(t);
  publish(t);
}

void team_after_task() noexcept {
  Team& t = team();
  if (!t.adaptive) return;
  const Clock::time_point now = Clock::now();
  if (now - t.window_start < kWindow) return;
  const double window_s = std::chrono::duration<double>(now - t.window_start).count();
  const int fit = fitting_size(t, window_s);
  if (fit == t.active) {
    t.agreeing = 0;
  } else if (fit == t.proposal) {
    if (++t.agreeing >= kAgreeingWindows) resize(t, fit);
  } else {
    t.proposal = fit;
    t.agreeing = 1;
  }
  if (t.adaptive) begin_window(t);
  publish(t);
}

int team_quota_cores() noexcept {
  static const int cores = cpu_quota_cores();
  return cores;
}

int team_default_size() noexcept {
  // OMP_NUM_THREADS, else the cores of the affinity mask. Read once: on the executor's thread
  // omp_get_max_threads() is the team's size after a resize, not the default.
  static const int n = omp_get_max_threads();
  const char* chosen = std::getenv("OMP_NUM_THREADS");
  if (chosen && *chosen) return n;
  const int quota = team_quota_cores();
  return quota > 0 ? std::min(n, quota) : n;
}

bool team_adaptive_setting() noexcept {
  const char* e = std::getenv("SENET_ADAPTIVE_THREADS");
  if (e && std::strcmp(e, "0") == 0) return false;
  const char* n = std::getenv("OMP_NUM_THREADS");  // a size chosen before senet loaded
  return !(n && *n);
}

TeamReport team_report() noexcept {
  return TeamReport{g_requested.load(), g_active.load(), g_adaptive.load()};
}

}  // namespace senet::cpu
