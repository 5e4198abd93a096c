#include "core/executor.h"

#include <future>

#include "core/error.h"

namespace senet {

namespace {

thread_local bool t_on_executor = false;
thread_local uint64_t t_owner = 0;

std::mutex g_executors_mutex;
Executor* g_executors[2] = {nullptr, nullptr};
Executor::ThreadHooks g_hooks[2];

}  // namespace

Executor& Executor::of(Device device) {
  std::lock_guard<std::mutex> lock(g_executors_mutex);
  Executor*& e = g_executors[static_cast<int>(device)];
  // Never destroyed: tensors may be freed by finalisers after static destructors would run.
  if (!e) e = new Executor(device);
  return *e;
}

bool Executor::on_executor_thread() { return t_on_executor; }

void Executor::set_thread_hooks(Device device, ThreadHooks hooks) { g_hooks[static_cast<int>(device)] = hooks; }

void Executor::set_thread_owner(uint64_t owner) { t_owner = owner; }

void Executor::drop_owner(uint64_t owner) {
  if (owner == 0) return;
  // Not under g_executors_mutex while waiting: the running task may call Executor::of.
  Executor* executors[2];
  {
    std::lock_guard<std::mutex> lock(g_executors_mutex);
    executors[0] = g_executors[0];
    executors[1] = g_executors[1];
  }
  // Every queue first: a running task may wait for room in the other executor's queue.
  for (Executor* e : executors)
    if (e) e->drop(owner);
  for (Executor* e : executors)
    if (e) e->wait_for(owner);
}

void Executor::drop(uint64_t owner) {
  std::deque<Item> dropped;  // destroyed outside the lock: their tensors may free memory
  {
    std::unique_lock<std::mutex> lock(mutex_);
    std::deque<Item> keep;
    for (Item& item : queue_) {
      // Reads too: a read settles a promise of the environment that is going away (its
      // thread-safe function is deleted with it; calling it then aborted the process).
      if (item.kind != Kind::Always && item.owner == owner)
        dropped.push_back(std::move(item));
      else
        keep.push_back(std::move(item));
    }
    queue_.swap(keep);
  }
  room_.notify_all();
}

void Executor::wait_for(uint64_t owner) {
  if (t_on_executor) return;
  std::unique_lock<std::mutex> lock(mutex_);
  finished_.wait(lock, [&] { return running_ == 0 || running_owner_ != owner; });
}

void Executor::shutdown_all() {
  std::lock_guard<std::mutex> lock(g_executors_mutex);
  for (Executor* e : g_executors)
    if (e) e->shutdown();
}

Executor::Executor(Device device) : device_(device) {
  thread_ = std::thread([this] { run(); });
}

void Executor::push(Item item) {
  if (t_on_executor) {
    // Work queued from inside a task (a backend calling a dispatching function) runs in place:
    // queueing it would put it after work that depends on it.
    if (item.kind == Kind::Read) item.read(nullptr);
    else item.task();
    return;
  }
  {
    std::unique_lock<std::mutex> lock(mutex_);
    room_.wait(lock, [this] { return stopping_ || queue_.size() < kMaxQueued; });
    if (stopping_) {
      if (item.kind == Kind::Read) item.read(std::make_exception_ptr(
          Error(ErrorCode::Internal, "the process is exiting: senet's executor has stopped")));
      return;
    }
    item.owner = t_owner;
    queue_.push_back(std::move(item));
  }
  wake_.notify_one();
}

void Executor::submit(Task task) { push({Kind::Compute, std::move(task), nullptr}); }

void Executor::submit_always(Task task) { push({Kind::Always, std::move(task), nullptr}); }

void Executor::submit_read(ReadTask task) { push({Kind::Read, nullptr, std::move(task)}); }

void Executor::synchronize() {
  if (t_on_executor) return;
  std::promise<std::exception_ptr> done;
  std::future<std::exception_ptr> result = done.get_future();
  submit_read([&done](std::exception_ptr err) { done.set_value(err); });
  std::exception_ptr err = result.get();
  if (err) std::rethrow_exception(err);
}

void Executor::drain() {
  if (t_on_executor) return;
  std::promise<void> done;
  std::future<void> result = done.get_future();
  submit_always([&done] { done.set_value(); });
  result.get();
}

int64_t Executor::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(queue_.size()) + running_;
}

void Executor::run() {
  t_on_executor = true;
  const ThreadHooks hooks = g_hooks[static_cast<int>(device_)];
  if (hooks.start) hooks.start();
  for (;;) {
    Item item;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left
      item = std::move(queue_.front());
      queue_.pop_front();
      running_ = 1;
      running_owner_ = item.owner;
    }
    room_.notify_one();
    try {
      switch (item.kind) {
        case Kind::Compute:
          if (!error_) item.task();
          break;
        case Kind::Always:
          item.task();
          break;
        case Kind::Read: {
          std::exception_ptr err = error_;
          error_ = nullptr;
          item.read(err);
          break;
        }
      }
    } catch (...) {
      if (!error_) error_ = std::current_exception();
    }
    // The task's captures (tensors) are released here, on this thread, before the next one runs.
    item = Item{};
    {
      std::lock_guard<std::mutex> lock(mutex_);
      running_ = 0;
      running_owner_ = 0;
    }
    finished_.notify_all();
    if (hooks.after_task) hooks.after_task();
  }
}

void Executor::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    // Compute work is dropped; frees and reads still run so that nothing waits forever.
    std::deque<Item> keep;
    for (Item& item : queue_)
      if (item.kind != Kind::Compute) keep.push_back(std::move(item));
    queue_.swap(keep);
  }
  wake_.notify_one();
  room_.notify_all();
  if (thread_.joinable() && !t_on_executor) thread_.join();
}

}  // namespace senet
