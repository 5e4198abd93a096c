// The linear layer on cuBLAS (float32; TF32 when the op asks); the bias add and its gradient (a column sum)
// are our kernels.
#include "cuda/blas.h"
#include "cuda/context.h"
#include "cuda/kernels.cuh"
#include "ops/dispatch.h"
#include "ops/linear.h"

namespace senet::cuda {

void linear_forward(const LinearForward& a) {
  const Tensor &x = a.x, &w = a.w, &y = a.y;
  const Tensor* b = opt(a.b);
  const int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  gemm_forward(n, in, out, x.data<float>(), w.data<float>(), y.data<float>(), a.tf32);
  if (b) launch_add_bias(y.data<float>(), b->data<float>(), n, out, false, Context::get().stream());
}

void linear_backward(const LinearBackward& a) {
  const Tensor &dy = a.dy, &x = a.x, &w = a.w, &dw = a.dw;
  const Tensor *dx = opt(a.dx), *db = opt(a.db);
  const int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  if (dx) gemm_backward_data(n, in, out, dy.data<float>(), w.data<float>(), dx->data<float>(), a.tf32);
  gemm_backward_weights(n, in, out, dy.data<float>(), x.data<float>(), dw.data<float>(), a.tf32);
  if (db) launch_column_sum(dy.data<float>(), db->data<float>(), n, out, Context::get().stream());
}

}  // namespace senet::cuda
