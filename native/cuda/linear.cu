// The linear layer on cuBLAS (float32, no TF32). Our row-major (N, In) x (Out, In)^T is cuBLAS's
// column-major y^T = w x^T, so no transposed copies are made; the bias add and its gradient (a
// column sum) are our kernels.
#include <algorithm>

#include "cuda/context.h"
#include "cuda/launch.h"
#include "ops/linear.h"

namespace senet::cuda {

namespace {

__global__ void add_bias_kernel(float* y, const float* b, int64_t n, int64_t out) {
  const int64_t total = n * out;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x)
    y[i] += b[i % out];
}

// db[o] = sum over rows of dy[:, o]; consecutive threads read consecutive columns (coalesced),
// and each sum runs in row order, so the result does not depend on the launch.
__global__ void column_sum_kernel(const float* dy, float* db, int64_t n, int64_t out) {
  for (int64_t o = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; o < out; o += int64_t{gridDim.x} * blockDim.x) {
    float acc = 0.f;
    for (int64_t r = 0; r < n; ++r) acc += dy[r * out + o];
    db[o] = acc;
  }
}

// cuBLAS takes int sizes; the products must fit too (an index of the largest matrix).
void check_sizes(int64_t n, int64_t in, int64_t out) {
  to_int(n * std::max(in, out), "linear: batch x features");
  to_int(in * out, "linear: weight elements");
}

int as_int(int64_t v) { return static_cast<int>(v); }

}  // namespace

void linear_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y) {
  const int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  check_sizes(n, in, out);
  Context& ctx = Context::get();
  const CublasApi& api = require_cublas();
  const float one = 1.f, zero = 0.f;
  // y^T (Out x N) = op(w as In x Out col-major)^T (Out x In) * x^T (In x N)
  SENET_CUBLAS_CHECK(api.cublasSgemm_v2(ctx.cublas(), dyn::CUBLAS_OP_T, dyn::CUBLAS_OP_N, as_int(out), as_int(n),
                                        as_int(in), &one, w.data<float>(), as_int(in), x.data<float>(), as_int(in),
                                        &zero, y.data<float>(), as_int(out)));
  if (b) {
    add_bias_kernel<<<blocks_for(n * out), kThreads, 0, ctx.stream()>>>(y.data<float>(), b->data<float>(), n, out);
    SENET_CUDA_LAUNCHED();
  }
}

void linear_backward(const Tensor& dy, const Tensor& x, const Tensor& w, Tensor* dx, Tensor& dw, Tensor* db) {
  const int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  check_sizes(n, in, out);
  Context& ctx = Context::get();
  const CublasApi& api = require_cublas();
  const float one = 1.f, zero = 0.f;
  if (dx) {
    // dx^T (In x N) = w^T (In x Out) * dy^T (Out x N)
    SENET_CUBLAS_CHECK(api.cublasSgemm_v2(ctx.cublas(), dyn::CUBLAS_OP_N, dyn::CUBLAS_OP_N, as_int(in), as_int(n),
                                          as_int(out), &one, w.data<float>(), as_int(in), dy.data<float>(),
                                          as_int(out), &zero, dx->data<float>(), as_int(in)));
  }
  // dw^T (In x Out) = x^T (In x N) * dy (N x Out)
  SENET_CUBLAS_CHECK(api.cublasSgemm_v2(ctx.cublas(), dyn::CUBLAS_OP_N, dyn::CUBLAS_OP_T, as_int(in), as_int(out),
                                        as_int(n), &one, x.data<float>(), as_int(in), dy.data<float>(), as_int(out),
                                        &zero, dw.data<float>(), as_int(in)));
  if (db) {
    column_sum_kernel<<<blocks_for(out), kThreads, 0, ctx.stream()>>>(dy.data<float>(), db->data<float>(), n, out);
    SENET_CUDA_LAUNCHED();
  }
}

}  // namespace senet::cuda
