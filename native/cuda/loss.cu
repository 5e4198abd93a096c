// Softmax cross-entropy on the GPU: one warp per row (max, log-sum-exp, loss, arg-max), then one
// block reduces the rows to the mean loss and the correct count, in a fixed order, so the result
// is deterministic. An out-of-range label sets the context's error flag (reported as
// SENET_ARGUMENT by the next read back, as the CPU backend reports it when the op runs), and its
// row's loss and gradient become NaN instead of reading outside the row.
#include <cmath>

#include "cuda/context.h"
#include "cuda/launch.h"
#include "ops/dispatch.h"
#include "ops/loss.h"

namespace senet::cuda {

namespace {

constexpr unsigned kFull = 0xffffffffu;

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFull, v, o));
  return v;
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
  return v;
}

// Max of a row and log-sum-exp, computed by the 32 lanes of one warp.
__device__ __forceinline__ void row_stats(const float* row, int64_t k, float* max_out, float* lse_out) {
  const int lane = threadIdx.x & 31;
  float m = -INFINITY;
  for (int64_t j = lane; j < k; j += 32) m = fmaxf(m, row[j]);
  m = warp_max(m);
  float s = 0.f;
  for (int64_t j = lane; j < k; j += 32) s += expf(row[j] - m);
  s = warp_sum(s);
  *max_out = m;
  *lse_out = m + logf(s);
}

// Rows handed to warps in a grid-stride loop; the loop bound is the same for the 32 lanes of a
// warp, so the shuffles inside always run on a full warp.
#define SENET_FOR_EACH_ROW(row, n)                                                  \
  for (int64_t row = (blockIdx.x * int64_t{blockDim.x} + threadIdx.x) / 32,         \
               row##_step = int64_t{gridDim.x} * blockDim.x / 32;                   \
       row < (n); row += row##_step)

template <class L>
__global__ void row_loss_kernel(const float* logits, const L* labels, int64_t n, int64_t k, float eps,
                                float* row_loss, int* row_hit, int* errors) {
  const int lane = threadIdx.x & 31;
  SENET_FOR_EACH_ROW(row, n) {
    const float* r = logits + row * k;
    float m, lse;
    row_stats(r, k, &m, &lse);
    float sum = 0.f;
    int64_t arg = k;  // first index holding the maximum
    for (int64_t j = lane; j < k; j += 32) {
      sum += r[j];
      if (r[j] == m && j < arg) arg = j;
    }
    sum = warp_sum(sum);
    for (int o = 16; o > 0; o >>= 1) {
      long long other = __shfl_xor_sync(kFull, static_cast<long long>(arg), o);
      arg = other < arg ? other : arg;
    }
    if (lane == 0) {
      const int64_t label = static_cast<int64_t>(labels[row]);
      if (label < 0 || label >= k) {
        atomicOr(errors, kBadLabel);
        row_loss[row] = NAN;
        row_hit[row] = 0;
      } else {
        const float nll = lse - r[label];
        // Without smoothing the class sum is not used (it may overflow where the loss does not).
        row_loss[row] = eps > 0.f ? (1.f - eps) * nll + eps * (lse - sum / static_cast<float>(k)) : nll;
        row_hit[row] = arg == label;
      }
    }
  }
}

__global__ void reduce_loss_kernel(const float* row_loss, const int* row_hit, int64_t n, float* loss, int* correct) {
  __shared__ float sums[kThreads];
  __shared__ int hits[kThreads];
  float s = 0.f;
  int h = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    s += row_loss[i];
    h += row_hit[i];
  }
  sums[threadIdx.x] = s;
  hits[threadIdx.x] = h;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) {
      sums[threadIdx.x] += sums[threadIdx.x + stride];
      hits[threadIdx.x] += hits[threadIdx.x + stride];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    *loss = sums[0] / static_cast<float>(n);
    if (correct) *correct = hits[0];
  }
}

template <class L>
__global__ void grad_kernel(const float* logits, const L* labels, int64_t n, int64_t k, float eps, float* dlogits,
                            int* errors) {
  const int lane = threadIdx.x & 31;
  SENET_FOR_EACH_ROW(row, n) {
    const float* r = logits + row * k;
    float* d = dlogits + row * k;
    float m, lse;
    row_stats(r, k, &m, &lse);
    const int64_t label = static_cast<int64_t>(labels[row]);
    const bool valid = label >= 0 && label < k;
    if (!valid && lane == 0) atomicOr(errors, kBadLabel);
    const float inv_n = 1.f / static_cast<float>(n), off = eps / static_cast<float>(k);
    for (int64_t j = lane; j < k; j += 32) {
      const float target = off + (j == label ? 1.f - eps : 0.f);
      d[j] = valid ? (expf(r[j] - lse) - target) * inv_n : NAN;
    }
  }
}

unsigned warp_blocks(int64_t rows) { return blocks_for(rows * 32); }

}  // namespace

void cross_entropy_forward(const CrossEntropyForward& a) {
  const CrossEntropyParams& p = a.p;
  const Tensor &logits = a.logits, &labels = a.labels, &loss = a.loss;
  const Tensor* correct = opt(a.correct);
  const int64_t n = logits.dim(0), k = logits.dim(1);
  Context& ctx = Context::get();
  // Per-row loss (N floats) and hit flags (N ints) in the context's scratch.
  float* row_loss = static_cast<float*>(ctx.scratch(static_cast<size_t>(n) * 8));
  int* row_hit = reinterpret_cast<int*>(row_loss + n);
  const unsigned blocks = warp_blocks(n);
  if (labels.dtype == DType::I64)
    row_loss_kernel<int64_t><<<blocks, kThreads, 0, ctx.stream()>>>(logits.data<float>(), labels.data<int64_t>(), n, k,
                                                                     p.label_smoothing, row_loss, row_hit, ctx.error_flags());
  else
    row_loss_kernel<int32_t><<<blocks, kThreads, 0, ctx.stream()>>>(logits.data<float>(), labels.data<int32_t>(), n, k,
                                                                     p.label_smoothing, row_loss, row_hit, ctx.error_flags());
  SENET_CUDA_LAUNCHED();
  reduce_loss_kernel<<<1, kThreads, 0, ctx.stream()>>>(row_loss, row_hit, n, loss.data<float>(),
                                                       correct ? correct->data<int>() : nullptr);
  SENET_CUDA_LAUNCHED();
}

void cross_entropy_backward(const CrossEntropyBackward& a) {
  const CrossEntropyParams& p = a.p;
  const Tensor &logits = a.logits, &labels = a.labels, &dlogits = a.dlogits;
  const int64_t n = logits.dim(0), k = logits.dim(1);
  Context& ctx = Context::get();
  const unsigned blocks = warp_blocks(n);
  if (labels.dtype == DType::I64)
    grad_kernel<int64_t><<<blocks, kThreads, 0, ctx.stream()>>>(logits.data<float>(), labels.data<int64_t>(), n, k,
                                                                 p.label_smoothing, dlogits.data<float>(), ctx.error_flags());
  else
    grad_kernel<int32_t><<<blocks, kThreads, 0, ctx.stream()>>>(logits.data<float>(), labels.data<int32_t>(), n, k,
                                                                 p.label_smoothing, dlogits.data<float>(), ctx.error_flags());
  SENET_CUDA_LAUNCHED();
}

namespace {

__global__ void softmax_kernel(const float* logits, float* probabilities, int64_t n, int64_t k) {
  const int lane = threadIdx.x & 31;
  SENET_FOR_EACH_ROW(row, n) {
    const float* r = logits + row * k;
    float m, lse;
    row_stats(r, k, &m, &lse);
    // exp(x - max) / sum, not exp(x - lse): lse rounded to float would cost an ulp of its magnitude.
    const float inv = 1.f / expf(lse - m);
    for (int64_t j = lane; j < k; j += 32) probabilities[row * k + j] = expf(r[j] - m) * inv;
  }
}

}  // namespace

void softmax(const Softmax& a) {
  const int64_t n = a.logits.dim(0), k = a.logits.dim(1);
  softmax_kernel<<<warp_blocks(n), kThreads, 0, Context::get().stream()>>>(a.logits.data<float>(),
                                                                          a.probabilities.data<float>(), n, k);
  SENET_CUDA_LAUNCHED();
}

}  // namespace senet::cuda
