// How many threads the CPU backend (oneDNN and our loops, through OpenMP) uses. They are the
// CPU executor's OpenMP team, so the setting is applied on that thread, in queue order.
#pragma once

namespace senet::cpu {

/// Default: OMP_NUM_THREADS, else every core this process may run on.
void set_num_threads(int n);
int num_threads();

}  // namespace senet::cpu
