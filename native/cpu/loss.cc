// Softmax cross-entropy: our own loops, with log-sum-exp for stability.
#include <cmath>
#include <string>

#include "core/error.h"
#include "ops/dispatch.h"
#include "ops/loss.h"

namespace senet::cpu {

namespace {

int64_t label_at(const Tensor& labels, int64_t i) {
  return labels.dtype == DType::I64 ? labels.data<int64_t>()[i]
                                    : static_cast<int64_t>(labels.data<int32_t>()[i]);
}

// Labels come from user data; one out of range must be an error, not a read out of bounds.
void check_labels(const char* op, const Tensor& labels, int64_t classes) {
  for (int64_t i = 0; i < labels.numel(); ++i) {
    int64_t l = label_at(labels, i);
    if (l < 0 || l >= classes)
      throw_error(ErrorCode::Argument, std::string(op) + ": labels: expected values in [0, " +
                                           std::to_string(classes) + "), received " +
                                           std::to_string(l) + " at index " + std::to_string(i));
  }
}

// Max and log-sum-exp of a row.
void row_stats(const float* row, int64_t k, float* max_out, float* lse_out) {
  float m = row[0];
  for (int64_t j = 1; j < k; ++j) m = row[j] > m ? row[j] : m;
  double sum = 0;
  for (int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(row[j] - m));
  *max_out = m;
  *lse_out = m + static_cast<float>(std::log(sum));
}

}  // namespace

void cross_entropy_forward(const CrossEntropyForward& a) {
  const CrossEntropyParams& p = a.p;
  const Tensor &logits = a.logits, &labels = a.labels, &loss = a.loss;
  const Tensor* correct = opt(a.correct);
  const int64_t n = logits.dim(0), k = logits.dim(1);
  check_labels("crossEntropyForward", labels, k);
  const float* lp = logits.data<float>();
  const double eps = p.label_smoothing;
  double total = 0;
  int32_t hits = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = lp + i * k;
    float m, lse;
    row_stats(row, k, &m, &lse);
    const int64_t label = label_at(labels, i);
    double nll = lse - row[label];
    if (eps > 0) {
      double sum = 0;
      for (int64_t j = 0; j < k; ++j) sum += row[j];
      double smooth = lse - sum / static_cast<double>(k);  // mean over classes of -log p
      nll = (1 - eps) * nll + eps * smooth;
    }
    total += nll;
    int64_t arg = 0;
    for (int64_t j = 1; j < k; ++j)
      if (row[j] > row[arg]) arg = j;
    hits += arg == label;
  }
  *loss.data<float>() = static_cast<float>(total / static_cast<double>(n));
  if (correct) *correct->data<int32_t>() = hits;
}

void cross_entropy_backward(const CrossEntropyBackward& a) {
  const CrossEntropyParams& p = a.p;
  const Tensor &logits = a.logits, &labels = a.labels, &dlogits = a.dlogits;
  const int64_t n = logits.dim(0), k = logits.dim(1);
  check_labels("crossEntropyBackward", labels, k);
  const float* lp = logits.data<float>();
  float* dp = dlogits.data<float>();
  const float eps = p.label_smoothing;
  const float inv_n = 1.f / static_cast<float>(n);
  const float off = eps / static_cast<float>(k);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = lp + i * k;
    float* d = dp + i * k;
    float m, lse;
    row_stats(row, k, &m, &lse);
    const int64_t label = label_at(labels, i);
    for (int64_t j = 0; j < k; ++j) {
      float target = off + (j == label ? 1.f - eps : 0.f);
      d[j] = (std::exp(row[j] - lse) - target) * inv_n;
    }
  }
}

void softmax(const Softmax& a) {
  const int64_t n = a.logits.dim(0), k = a.logits.dim(1);
  const float* lp = a.logits.data<float>();
  float* pp = a.probabilities.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float* row = lp + i * k;
    float* p = pp + i * k;
    // exp(x - max) / sum rather than exp(x - lse): lse, rounded to float, would cost up to an
    // ulp of its magnitude (1e-5 relative near 100).
    float m = row[0];
    for (int64_t j = 1; j < k; ++j) m = row[j] > m ? row[j] : m;
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(row[j] - m));
    const double inv = 1.0 / sum;
    for (int64_t j = 0; j < k; ++j) p[j] = static_cast<float>(std::exp(static_cast<double>(row[j] - m)) * inv);
  }
}

}  // namespace senet::cpu
