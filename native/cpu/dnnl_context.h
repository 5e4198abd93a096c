// What every CPU op shares: the oneDNN engine and stream, a cache of primitives keyed by shape
// and parameters (descriptor creation is the slow part), and reusable scratch buffers that grow
// to the largest size asked and are then reused, so a steady training step allocates nothing.
// All of it is per thread: Node worker threads may each run ops.
#pragma once

#include <dnnl.hpp>

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"

namespace senet::cpu {

[[noreturn]] void throw_dnnl_error(const dnnl::error& e, const char* call, const char* file, int line);

// Runs one oneDNN call; a failure becomes senet::Error naming the call, the place and oneDNN's
// own message and status.
#define SENET_DNNL(expr)                                                  \
  [&]() -> decltype(auto) {                                               \
    try {                                                                 \
      return expr;                                                        \
    } catch (const dnnl::error& e) {                                      \
      ::senet::cpu::throw_dnnl_error(e, #expr, __FILE__, __LINE__);       \
    }                                                                     \
  }()

dnnl::engine& engine();
dnnl::stream& stream();

/// Scratch buffers, one per slot, so that the temporaries of one op never overlap.
// Convert0..3: float32 copies of bf16 tensors, for mixed precision's float32 kernels.
enum class Scratch { Pad, Weights, Act0, Act1, Small, Convert0, Convert1, Convert2, Convert3, Count };
void* scratch(Scratch slot, size_t bytes);
template <class T>
T* scratch_as(Scratch slot, size_t count) {
  return static_cast<T*>(scratch(slot, count * sizeof(T)));
}

/// A memory object over a tensor's (or any) buffer; creating one allocates nothing.
dnnl::memory wrap(const dnnl::memory::desc& md, void* data);
dnnl::memory wrap(const dnnl::memory::desc& md, const Tensor& t);
/// A memory object over the scratchpad buffer, sized for the primitive's scratchpad.
dnnl::memory scratchpad(const dnnl::memory::desc& md);
/// Plain channels-last float descriptor of a logical (N, C, H, W).
dnnl::memory::desc nhwc(int64_t n, int64_t c, int64_t h, int64_t w);
/// A reorder between two layouts of the same data.
dnnl::reorder make_reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to);
/// Primitive attributes with a user-managed scratchpad.
dnnl::primitive_attr user_scratchpad();
/// C (m, n) = op(A) op(B), row-major, with oneDNN's sgemm (threaded); ta / tb are 'N' or 'T'.
void sgemm(char ta, char tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
           const float* b, int64_t ldb, float* c, int64_t ldc);

/// Per-thread cache of an op's primitives under a plain key. A oneDNN primitive divides its work
/// among the OpenMP team it was created for and keeps doing so, so each team size has its own
/// entries: a primitive made for 2 threads would ignore setNumThreads(1) and a shrunken team.
class PrimitiveCache {
 public:
  template <class T>
  T& get(const std::string& key, const std::function<T()>& make) {
    Entries& entries = entries_for(team_size());
    auto it = entries.find(key);
    if (it == entries.end()) {
      if (entries.size() >= kCapacity) {
        // The entries an op is still using (it may look up several) stay alive until the next
        // time the cache fills.
        retired_.clear();
        for (auto& e : entries) retired_.push_back(std::move(e.second));
        entries.clear();
      }
      it = entries.emplace(key, std::make_shared<Holder<T>>(make())).first;
    }
    return static_cast<Holder<T>*>(it->second.get())->value;
  }

 private:
  static constexpr size_t kCapacity = 1024;
  struct Base {
    virtual ~Base() = default;
  };
  template <class T>
  struct Holder : Base {
    explicit Holder(T v) : value(std::move(v)) {}
    T value;
  };
  using Entries = std::unordered_map<std::string, std::shared_ptr<Base>>;
  static int team_size();  // omp_get_max_threads(), kept out of this header
  Entries& entries_for(int team) {
    if (team != current_team_) {
      current_ = &by_team_[team];
      current_team_ = team;
    }
    return *current_;
  }
  std::unordered_map<int, Entries> by_team_;
  std::vector<std::shared_ptr<Base>> retired_;
  Entries* current_ = nullptr;
  int current_team_ = -1;
};

PrimitiveCache& cache();

/// One number of a cache key: integers as they are, floats by their bits (so that 1e-7 and
/// 1e-8 never share a key, as a printed form with 6 decimals would).
template <class T>
std::string key_part(T v) {
  if constexpr (std::is_same_v<T, float>) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    return "f" + std::to_string(bits);
  } else {
    static_assert(std::is_integral_v<T> || std::is_enum_v<T>, "cache keys hold integers and floats");
    return std::to_string(static_cast<int64_t>(v));
  }
}

/// Builds a cache key from numbers: key("conv", n, h, ...).
template <class... Args>
std::string key(const char* op, Args... args) {
  std::string k = op;
  ((k += ':', k += key_part(args)), ...);
  return k;
}

}  // namespace senet::cpu
