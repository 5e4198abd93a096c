// The CPU time a cgroup (a container's --cpus, a Kubernetes CPU limit, systemd's CPUQuota) allows
// this process, in whole cores. Affinity does not show it: a container limited to 2 cores of a
// 64-core host sees 64 CPUs, and a team of 64 threads is throttled at every scheduler period,
// so that each fork-join region waits for threads that may not run. On the 2-core development
// machine under a 1-core quota, a forward of the default model took 74-76 ms with 2 threads and
// 40-55 ms with 1.
#pragma once

namespace senet::cpu {

/// floor(quota / period) over the process's cgroup and its ancestors (cgroup v2 `cpu.max`, v1
/// `cpu.cfs_quota_us` / `cpu.cfs_period_us`), at least 1; 0 when nothing limits it or it cannot
/// be read.
int cpu_quota_cores() noexcept;

}  // namespace senet::cpu
