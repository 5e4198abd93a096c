#include "cpu/cpu_quota.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace senet::cpu {

namespace {

// A cgroup hierarchy that holds the cpu controller, as /proc/self/mountinfo mounts it (proc(5)).
struct Mount {
  bool v2 = false;
  std::string root;         // the part of the hierarchy mounted (a container's own cgroup, often "/")
  std::string mount_point;  // where it is mounted
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, sep)) parts.push_back(part);
  return parts;
}

std::vector<Mount> cpu_mounts() {
  std::vector<Mount> mounts;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // "ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS"
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    const std::vector<std::string> head = split(line.substr(0, dash), ' ');
    const std::vector<std::string> tail = split(line.substr(dash + 3), ' ');
    if (head.size() < 5 || tail.size() < 3) continue;
    Mount m{false, head[3], head[4]};
    if (tail[0] == "cgroup2") {
      m.v2 = true;
    } else if (tail[0] == "cgroup") {
      const std::vector<std::string> opts = split(tail[2], ',');
      if (std::find(opts.begin(), opts.end(), "cpu") == opts.end()) continue;
    } else {
      continue;
    }
    mounts.push_back(m);
  }
  return mounts;
}

// This process's cgroup in the v2 hierarchy ("0::PATH") or the v1 one with the cpu controller.
std::string own_cgroup(bool v2) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    // "ID:CONTROLLERS:PATH"
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    const std::string path = line.substr(b + 1);
    if (v2 && line.compare(0, a, "0") == 0 && controllers.empty()) return path;
    if (!v2) {
      const std::vector<std::string> c = split(controllers, ',');
      if (std::find(c.begin(), c.end(), "cpu") != c.end()) return path;
    }
  }
  return "";
}

bool read_text(const std::string& path, std::string& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::getline(in, out);
  return true;
}

// The cores one cgroup directory allows; +inf when it sets no limit.
double limit_of(const std::string& dir, bool v2) {
  std::string text;
  if (v2) {
    // "max 100000" or "QUOTA PERIOD" (cgroup-v2.rst)
    if (!read_text(dir + "/cpu.max", text)) return INFINITY;
    std::istringstream in(text);
    std::string quota;
    double period = 0;
    if (!(in >> quota >> period) || quota == "max" || period <= 0) return INFINITY;
    return std::stod(quota) / period;
  }
  // cpu.cfs_quota_us is -1 without a limit (sched-bwc.rst)
  std::string quota, period;
  if (!read_text(dir + "/cpu.cfs_quota_us", quota) || !read_text(dir + "/cpu.cfs_period_us", period)) return INFINITY;
  const double q = std::stod(quota), p = std::stod(period);
  if (q <= 0 || p <= 0) return INFINITY;
  return q / p;
}

}  // namespace

int cpu_quota_cores() noexcept {
  try {
    double cores = INFINITY;
    for (const Mount& m : cpu_mounts()) {
      std::string path = own_cgroup(m.v2);
      if (path.empty()) continue;
      // The mounted part of the hierarchy: strip its root from the process's path.
      if (m.root != "/" && path.compare(0, m.root.size(), m.root) == 0) path = path.substr(m.root.size());
      if (path.empty()) path = "/";
      // The process's cgroup and each ancestor up to the mount's root: the smallest limit holds.
      for (;;) {
        cores = std::min(cores, limit_of(m.mount_point + (path == "/" ? "" : path), m.v2));
        if (path == "/") break;
        const size_t slash = path.rfind('/');
        path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
      }
    }
    if (std::isinf(cores)) return 0;
    return std::max(1, static_cast<int>(std::floor(cores)));
  } catch (...) {
    return 0;  // an unreadable or odd file: no limit known
  }
}

}  // namespace senet::cpu
