// Stream-ordered execution. Each device has one queue of work that a native thread runs in the
// order it was queued (the CPU thread owns the oneDNN stream and the scratch buffers; the CUDA
// thread launches onto the CUDA stream). Ops validate on the caller's thread, queue their work
// and return at once, so the JavaScript thread never waits for arithmetic.
//
// A task that throws leaves its error pending: later compute tasks are skipped (their inputs may
// be garbage) until a read or synchronize() reports the error, which clears it. Frees always run.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "core/tensor.h"

namespace senet {

class Executor {
 public:
  using Task = std::function<void()>;
  /// Receives the error pending when it runs (null when none); the error is then cleared.
  using ReadTask = std::function<void(std::exception_ptr)>;

  /// The device's executor, started on first use; it lives until the process ends.
  static Executor& of(Device device);
  /// True when the calling thread is an executor thread (work queued there runs inline).
  static bool on_executor_thread();
  /// Stops every started executor: queued compute work is dropped, the running task finishes.
  static void shutdown_all();
  /// Tags the work the calling thread queues from now on (a JavaScript environment: the main
  /// thread or a worker), so that drop_owner can discard it when that environment goes away.
  static void set_thread_owner(uint64_t owner);
  /// For an environment that goes away (a worker that ended or was terminated): discards the
  /// compute work and reads `owner` queued on every executor, and waits for a task of its that is
  /// running, so that nothing calls into that environment (its promises, its thread-safe
  /// function) after this returns.
  static void drop_owner(uint64_t owner);

  /// What a backend runs on its executor's thread: once before the first task, and after each
  /// task (cheap; the CPU backend sizes its thread team there). Neither may throw.
  struct ThreadHooks {
    void (*start)() noexcept = nullptr;
    void (*after_task)() noexcept = nullptr;
  };
  /// Set by a backend's static initialiser, before its executor starts.
  static void set_thread_hooks(Device device, ThreadHooks hooks);

  /// Queues compute work.
  void submit(Task task);
  /// Queues work that runs even while an error is pending (freeing memory).
  void submit_always(Task task);
  /// Queues a read of results: it runs after everything queued before it.
  void submit_read(ReadTask task);
  /// Blocks the caller until everything queued so far has run; rethrows (and clears) a pending error.
  void synchronize();
  /// Blocks the caller until everything queued so far has run; a pending error stays pending.
  void drain();
  /// Tasks queued or running.
  int64_t pending() const;
  /// At most this many tasks wait in a queue: a thread queueing more waits for room, as CUDA's
  /// launch queue does, so that work queued faster than it runs cannot hold unbounded memory.
  static constexpr size_t kMaxQueued = 4096;

  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

 private:
  enum class Kind { Compute, Always, Read };
  struct Item {
    Kind kind;
    Task task;
    ReadTask read;
    uint64_t owner = 0;
  };

  explicit Executor(Device device);
  void push(Item item);
  void run();
  void shutdown();
  void drop(uint64_t owner);
  void wait_for(uint64_t owner);  // until no task of `owner` runs

  Device device_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable room_;
  std::deque<Item> queue_;
  int64_t running_ = 0;
  uint64_t running_owner_ = 0;        // of the task running, when running_
  std::condition_variable finished_;  // a task has finished
  bool stopping_ = false;
  std::exception_ptr error_;  // touched only by the executor thread
  std::thread thread_;
};

}  // namespace senet
