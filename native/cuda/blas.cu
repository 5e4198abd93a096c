#include <algorithm>

#include "cuda/blas.h"
#include "cuda/context.h"

namespace senet::cuda {

namespace {

// cuBLAS takes int sizes; the largest matrix's element count must fit too.
void check_sizes(int64_t n, int64_t in, int64_t out) {
  to_int(n * std::max(in, out), "matrix product: rows x features");
  to_int(in * out, "matrix product: weight elements");
}

const float kOne = 1.f, kZero = 0.f;

// TF32 tensor-core math for one call when asked (the handle's mode is float32 otherwise); the
// handle is only used on the CUDA executor's thread, so switching it around a call is safe.
class MathMode {
 public:
  explicit MathMode(bool tf32) : on_(tf32) {
    if (on_) SENET_CUBLAS_CHECK(require_cublas().cublasSetMathMode(Context::get().cublas(), dyn::CUBLAS_TF32_TENSOR_OP_MATH));
  }
  ~MathMode() {
    if (on_) require_cublas().cublasSetMathMode(Context::get().cublas(), dyn::CUBLAS_DEFAULT_MATH);
  }
  MathMode(const MathMode&) = delete;
  MathMode& operator=(const MathMode&) = delete;

 private:
  bool on_;
};

}  // namespace

void gemm_forward(int64_t n, int64_t in, int64_t out, const float* x, const float* w, float* y, bool tf32) {
  MathMode math(tf32);
  check_sizes(n, in, out);
  Context& ctx = Context::get();
  const CublasApi& api = require_cublas();
  // y^T (Out x N) = [w as In x Out, transposed] (Out x In) * x^T (In x N)
  SENET_CUBLAS_CHECK(api.cublasSgemm_v2(ctx.cublas(), dyn::CUBLAS_OP_T, dyn::CUBLAS_OP_N, int(out), int(n), int(in), &kOne,
                                        w, int(in), x, int(in), &kZero, y, int(out)));
}

void gemm_backward_data(int64_t n, int64_t in, int64_t out, const float* dy, const float* w, float* dx, bool tf32) {
  MathMode math(tf32);
  check_sizes(n, in, out);
  Context& ctx = Context::get();
  const CublasApi& api = require_cublas();
  // dx^T (In x N) = w^T (In x Out) * dy^T (Out x N)
  SENET_CUBLAS_CHECK(api.cublasSgemm_v2(ctx.cublas(), dyn::CUBLAS_OP_N, dyn::CUBLAS_OP_N, int(in), int(n), int(out), &kOne,
                                        w, int(in), dy, int(out), &kZero, dx, int(in)));
}

void gemm_backward_weights(int64_t n, int64_t in, int64_t out, const float* dy, const float* x, float* dw, bool tf32) {
  MathMode math(tf32);
  check_sizes(n, in, out);
  Context& ctx = Context::get();
  const CublasApi& api = require_cublas();
  // dw^T (In x Out) = x^T (In x N) * dy (N x Out)
  SENET_CUBLAS_CHECK(api.cublasSgemm_v2(ctx.cublas(), dyn::CUBLAS_OP_N, dyn::CUBLAS_OP_T, int(in), int(out), int(n), &kOne,
                                        x, int(in), dy, int(out), &kZero, dw, int(in)));
}

}  // namespace senet::cuda
