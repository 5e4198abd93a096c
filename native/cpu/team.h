// The CPU executor's OpenMP team, sized to the cores this process can actually get.
//
// oneDNN's fork-join parallelism assumes that every thread of the team runs: when another
// process keeps a core busy, each parallel region waits for the thread the scheduler has
// parked. On 2 cores a forward of the default model took 21-27 ms alone, 64 ms next to one busy
// process and 160-178 ms with two senet processes at once; with the team cut to the cores left
// free, 44 ms and 46-50 ms.
//
// So, every 200 ms of work, the executor's thread compares the CPU time the machine spent
// (/proc/stat, over the cores this process may run on) with this process's own, and sizes the
// team to the cores the other processes leave, between 1 and the default size. A new size needs
// two windows in a row that agree. This process's other threads (the JavaScript thread, the
// data loader's workers, sharp's decoders) do not count: they are meant to overlap with the
// team, and leaving their cores idle cost 15-20 % of an image folder's training throughput.
//
// Only the default team adapts. How oneDNN splits a reduction depends on the team's size, so a
// training run whose team changed differs from one whose team did not in the last bits (34 of
// the 64 tensors of a tiny network after 3 steps, 1 thread against 2). A size the user chose
// (setNumThreads, --threads, OMP_NUM_THREADS) is kept, and SENET_ADAPTIVE_THREADS=0 keeps the
// default one: then runs and resumes are bit-identical.
#pragma once

namespace senet::cpu {

struct TeamReport {
  int requested;  // setNumThreads / OMP_NUM_THREADS / every core
  int active;     // the team now
  bool adaptive;  // false: a size chosen, SENET_ADAPTIVE_THREADS=0, or no /proc/stat
};

/// The team when the user chose none: OMP_NUM_THREADS, else every core this process may run on,
/// at most the cores its cgroup's CPU quota allows (cpu/cpu_quota.h).
int team_default_size() noexcept;
/// The cgroup's CPU quota in cores, 0 without one (read once).
int team_quota_cores() noexcept;
/// On the CPU executor's thread: the team size the user chose, kept from then on.
void team_request(int n) noexcept;
/// On the CPU executor's thread: back to the default team (adaptive unless switched off).
void team_reset() noexcept;
/// Executor hooks of the CPU backend.
void team_start() noexcept;
void team_after_task() noexcept;
/// From any thread; all zero before the executor's first task.
TeamReport team_report() noexcept;
/// Whether the default team adapts: not with SENET_ADAPTIVE_THREADS=0 or OMP_NUM_THREADS set.
bool team_adaptive_setting() noexcept;

}  // namespace senet::cpu
