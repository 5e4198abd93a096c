#include "ops/tensor_ops.h"

#include <condition_variable>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>

#include "core/cuda_probe.h"
#include "ops/dispatch.h"
#include "ops/precision.h"

namespace senet {

namespace {

// A one-shot signal between the two executors of a cross-device copy.
class Latch {
 public:
  void signal() {
    {
      std::lock_guard<std::mutex> lock(m_);
      set_ = true;
    }
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait(lock, [this] { return set_; });
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool set_ = false;
};

// Signals a latch however the scope is left, so that the other executor never waits forever.
struct SignalOnExit {
  std::shared_ptr<Latch> latch;
  ~SignalOnExit() { latch->signal(); }
};

// Cross-device copies queue one task on each executor; holding this while queueing both keeps
// every pair in the same order on both queues (two threads interleaving could deadlock them).
std::mutex g_cross_device;

void check_float(const Check& c, const Tensor& t, const char* name) {
  c.usable(t, name);
  c.dtype(t, name, DType::F32);
}

void check_flag(const Check& c, const Tensor& t, const char* name) { c.tensor(t, name, DType::I32, {}); }

// src and dst on different devices: the CPU side holds its executor (so that no later CPU op
// touches the host buffer) until the GPU's copy has completed; the copy runs on the GPU's.
void cross_device_copy(const Copy& a) {
#ifdef SENET_WITH_CUDA
  auto ready = std::make_shared<Latch>(), done = std::make_shared<Latch>();
  std::lock_guard<std::mutex> lock(g_cross_device);
  Executor::of(Device::Cpu).submit_always([ready, done] {
    ready->signal();
    done->wait();
  });
  Executor::of(Device::Cuda).submit_always([a, ready, done] {
    SignalOnExit guard{done};
    ready->wait();
    if (a.dst.device() == Device::Cuda)
      cuda::copy_from_host(a.dst, a.src.raw(), a.src.nbytes());
    else
      cuda::copy_to_host(a.src, a.dst.raw(), a.src.nbytes());
  });
#else
  (void)a;
  throw_error(ErrorCode::Device, "copy: no CUDA backend in this build");
#endif
}

}  // namespace

void fill(const Fill& a) {
  Check c("fill");
  c.usable(a.tensor, "tensor");
  c.finite(a.value, "value");
  enqueue(c, a.tensor.device(), &cpu::fill, SENET_CUDA_FN(fill), a);
}

void fill_random(const FillRandom& a) {
  Check c(a.kind == FillRandom::Kind::Normal ? "fillNormal" : "fillUniform");
  check_float(c, a.tensor, "tensor");
  const bool normal = a.kind == FillRandom::Kind::Normal;
  c.finite(a.a, normal ? "mean" : "low");
  c.finite(a.b, normal ? "std" : "high");
  if (normal && a.b < 0) c.fail(ErrorCode::Argument, "std: expected a number >= 0, received " + std::to_string(a.b));
  if (!normal && !(a.a <= a.b))
    c.fail(ErrorCode::Argument, "high: expected a number >= low (" + std::to_string(a.a) + "), received " + std::to_string(a.b));
  enqueue(c, a.tensor.device(), &cpu::fill_random, SENET_CUDA_FN(fill_random), a);
}

void copy(const Copy& a) {
  Check c("copy");
  c.usable(a.src, "src");
  c.usable(a.dst, "dst");
  c.dtype(a.dst, "dst", a.src.dtype);
  if (a.src.numel() != a.dst.numel())
    c.fail(ErrorCode::Shape, "dst: expected " + std::to_string(a.src.numel()) + " elements to match src, received " +
                                 std::to_string(a.dst.numel()));
  if (a.only_if.storage) {
    check_flag(c, a.only_if, "onlyIf");
    c.same_device({&a.dst, &a.only_if});
  }
  if (a.src.storage == a.dst.storage && a.src.offset == a.dst.offset) return;  // a copy onto itself
  c.distinct(a.src, "src", a.dst, "dst");
  const Device sd = a.src.device(), dd = a.dst.device();
  if (sd != dd) {
    if (a.only_if.storage) c.fail(ErrorCode::Device, "onlyIf: expected a copy within one device");
    return cross_device_copy(a);
  }
  enqueue(c, sd, &cpu::copy_if, SENET_CUDA_FN(copy_device), a);
}

void add(const Add& a) {
  Check c("add");
  const DType t = check_activation(c, a.a, "a");
  c.tensor(a.b, "b", t, a.a.shape);
  c.tensor(a.out, "out", t, a.a.shape);
  Device d = c.same_device({&a.a, &a.b, &a.out});
  check_precision(c, d, t);
  enqueue(c, d, &cpu::add, SENET_CUDA_FN(add), a);
}

void cast(const Cast& a) {
  Check c("cast");
  check_activation(c, a.x, "x");
  check_activation(c, a.y, "y");
  if (a.x.numel() != a.y.numel())
    c.fail(ErrorCode::Shape, "y: expected " + std::to_string(a.x.numel()) + " elements (as x), received shape " +
                                 shape_str(a.y.shape));
  if (a.x.dtype == a.y.dtype) c.distinct(a.x, "x", a.y, "y");
  Device d = c.same_device({&a.x, &a.y});
  // A cast alone is allowed everywhere (reading bf16 weights back is useful on any CPU).
  enqueue(c, d, &cpu::cast, SENET_CUDA_FN(cast), a);
}

void count_non_finite(const CountNonFinite& a) {
  Check c("countNonFinite");
  check_flag(c, a.count, "count");
  if (a.tensors.empty()) c.fail(ErrorCode::Argument, "tensors: expected at least one tensor, received none");
  for (const Tensor& t : a.tensors) {
    check_float(c, t, "tensors[]");
    c.same_device({&a.count, &t});
  }
  enqueue(c, a.count.device(), &cpu::count_non_finite, SENET_CUDA_FN(count_non_finite), a);
}

void to_channels_last(const ToChannelsLast& a) {
  Check c("toChannelsLast");
  c.tensor_rank(a.x, "x", DType::F32, 4);
  c.tensor(a.y, "y", DType::F32, {a.x.dim(0), a.x.dim(2), a.x.dim(3), a.x.dim(1)});
  c.distinct(a.x, "x", a.y, "y");
  Device d = c.same_device({&a.x, &a.y});
  enqueue(c, d, &cpu::to_channels_last, SENET_CUDA_FN(to_channels_last), a);
}

void normalize_bytes(const NormalizeBytes& a) {
  Check c("normalizeBytes");
  c.usable(a.x, "x");
  c.dtype(a.x, "x", DType::U8);
  if (a.x.shape.empty()) c.fail(ErrorCode::Shape, "x: expected a last dimension (the channels), received a scalar");
  const int64_t channels = a.x.shape.back();
  c.positive(channels, "x's last dimension (channels)");
  c.tensor(a.table, "table", DType::F32, {channels, 256});
  check_activation(c, a.y, "y");
  c.shape(a.y, "y", a.x.shape);
  Device d = c.same_device({&a.x, &a.table, &a.y});
  enqueue(c, d, &cpu::normalize_bytes, SENET_CUDA_FN(normalize_bytes), a);
}

void upload(const Tensor& t, std::vector<char> data) {
  Check c("set");
  c.usable(t, "tensor");
  if (data.size() != t.nbytes())
    c.fail(ErrorCode::Shape, "data: expected " + std::to_string(t.nbytes()) + " bytes, received " + std::to_string(data.size()));
  if (t.device() == Device::Cpu) {
    Executor::of(Device::Cpu).submit([t, d = std::move(data)] {
      if (!d.empty()) std::memcpy(t.raw(), d.data(), d.size());
    });
    return;
  }
#ifdef SENET_WITH_CUDA
  auto shared = std::make_shared<std::vector<char>>(std::move(data));
  Executor::of(Device::Cuda).submit([t, shared] { cuda::copy_from_host(t, shared->data(), shared->size()); });
#else
  unsupported_device(c, t.device());
#endif
}

void download(const Tensor& t, void* dst, std::function<void(std::exception_ptr)> done) {
  Check c("read");
  c.usable(t, "tensor");
  const Device d = t.device();
#ifndef SENET_WITH_CUDA
  if (d != Device::Cpu) unsupported_device(c, d);
#endif
  Executor::of(d).submit_read([t, dst, done = std::move(done)](std::exception_ptr err) {
    if (!err) {
      try {
        if (t.device() == Device::Cpu) {
          if (t.nbytes()) std::memcpy(dst, t.raw(), t.nbytes());
        } else {
#ifdef SENET_WITH_CUDA
          cuda::copy_to_host(t, dst, t.nbytes());
#endif
        }
      } catch (...) {
        err = std::current_exception();
      }
    }
    done(err);
  });
}

void synchronize(Device device) {
  if (device == Device::Cpu) return Executor::of(device).synchronize();
#ifndef SENET_WITH_CUDA
  return;
#endif
  // The GPU's executor only launches work: wait for the stream as well.
  std::promise<std::exception_ptr> finished;
  auto result = finished.get_future();
  Executor::of(device).submit_read([&finished](std::exception_ptr err) {
    if (!err) {
      try {
        cuda_synchronize();
      } catch (...) {
        err = std::current_exception();
      }
    }
    finished.set_value(err);
  });
  if (std::exception_ptr err = result.get()) std::rethrow_exception(err);
}

}  // namespace senet
