#include "cpu/dnnl_context.h"

#include <dnnl_debug.h>
#include <omp.h>

#include <cstdlib>
#include <vector>

namespace senet::cpu {

void throw_dnnl_error(const dnnl::error& e, const char* call, const char* file, int line) {
  // Name the call, not its whole argument list.
  std::string name = call;
  size_t paren = name.find('(');
  if (paren != std::string::npos && name.size() > 60) name = name.substr(0, paren) + "(...)";
  throw_library_error(ErrorCode::Library, "oneDNN", name.c_str(), file, line,
                      std::string(e.what()) + " (" + dnnl_status2str(e.status) + ")");
}

namespace {

struct Context {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  PrimitiveCache prims;
  struct Buffer {
    void* data = nullptr;
    size_t bytes = 0;
  };
  Buffer buffers[static_cast<int>(Scratch::Count)];
  ~Context() {
    for (auto& b : buffers) std::free(b.data);
  }
};

Context& context() {
  thread_local Context ctx;
  return ctx;
}

}  // namespace

dnnl::engine& engine() { return context().eng; }
dnnl::stream& stream() { return context().strm; }
PrimitiveCache& cache() { return context().prims; }
int PrimitiveCache::team_size() { return omp_get_max_threads(); }

void* scratch(Scratch slot, size_t bytes) {
  auto& b = context().buffers[static_cast<int>(slot)];
  if (bytes > b.bytes || !b.data) {
    size_t rounded = (bytes + 4095) / 4096 * 4096;
    if (rounded == 0) rounded = 4096;
    void* p = std::aligned_alloc(64, rounded);  // grows rarely: fragmentation does not matter
    if (!p)
      throw_error(ErrorCode::OutOfMemory,
                  "scratch allocation of " + std::to_string(rounded) + " bytes failed");
    std::free(b.data);
    b.data = p;
    b.bytes = rounded;
  }
  return b.data;
}

dnnl::memory wrap(const dnnl::memory::desc& md, void* data) {
  return SENET_DNNL(dnnl::memory(md, engine(), data));
}

dnnl::memory wrap(const dnnl::memory::desc& md, const Tensor& t) { return wrap(md, t.raw()); }

dnnl::memory scratchpad(const dnnl::memory::desc& md) {
  return wrap(md, scratch(Scratch::Pad, md.get_size()));
}

dnnl::memory::desc nhwc(int64_t n, int64_t c, int64_t h, int64_t w) {
  return dnnl::memory::desc({n, c, h, w}, dnnl::memory::data_type::f32,
                            dnnl::memory::format_tag::nhwc);
}

dnnl::reorder make_reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to) {
  auto pd = SENET_DNNL(dnnl::reorder::primitive_desc(engine(), from, engine(), to));
  return SENET_DNNL(dnnl::reorder(pd));
}

void sgemm(char ta, char tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
           const float* b, int64_t ldb, float* c, int64_t ldc) {
  const dnnl_status_t st = dnnl_sgemm(ta, tb, m, n, k, 1.f, a, lda, b, ldb, 0.f, c, ldc);
  if (st != dnnl_success) throw_dnnl_error(dnnl::error(st, "sgemm failed"), "dnnl_sgemm(...)", __FILE__, __LINE__);
}

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

}  // namespace senet::cpu
