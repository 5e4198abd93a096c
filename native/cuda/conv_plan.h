// The cuDNN side of one convolution shape: its descriptors and the algorithm of each direction,
// chosen once per shape by measuring (cudnnFind*AlgorithmEx, as torch.backends.cudnn.benchmark
// does) on the first call that runs that direction, with the workspace that algorithm needs.
//
// Environment, read once: SENET_CUDNN_BENCHMARK=0 takes cuDNN's heuristic order instead of
// measuring (the first algorithm that qualifies); SENET_DETERMINISTIC=1 keeps only algorithms
// cuDNN marks deterministic (no atomics) and takes the heuristic order too, so that a run repeats
// bit for bit (which algorithm wins a measurement depends on timing noise), unless
// SENET_CUDNN_BENCHMARK=1 asks for measuring anyway.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "core/cuda_probe.h"
#include "cuda/descriptors.h"
#include "ops/conv_bn.h"

namespace senet::cuda {

/// One direction's algorithm: -1 until chosen.
struct ConvAlgo {
  int algo = -1;
  // The math type cuDNN listed it with: set on the descriptor before each call, since cuDNN runs
  // the descriptor's math type, and the algorithm's kernels and workspace depend on it.
  dyn::cudnnMathType_t math = dyn::CUDNN_DEFAULT_MATH;
  size_t workspace = 0;  // what the algorithm needs: the larger of its listing and cudnnGet*WorkspaceSize
  float ms = 0.f;        // measured time, 0 when taken from the heuristics
  bool chosen() const { return algo >= 0; }
};

class ConvPlan {
 public:
  /// x (N, H, W, Cin), w (Cout, kH, kW, Cin / groups), output (N, Ho, Wo, Cout), all of type `data`.
  ConvPlan(const ConvBnParams& p, DType data, const Shape& xs, const Shape& ws, int64_t ho, int64_t wo);

  DType data;
  TensorDescriptor x, y;
  FilterDescriptor w;
  ConvolutionDescriptor conv;
  ConvAlgo fwd, bwd_data, bwd_filter;
  // Set when the op computes the forward / the input gradient as a cuBLAS product instead (conv_bn.cu).
  std::atomic<bool> fwd_by_gemm{false}, bwd_data_by_gemm{false};
  // Calls of each direction, so that the breakdown can weigh the measured times by them.
  std::atomic<uint64_t> fwd_calls{0}, bwd_data_calls{0}, bwd_filter_calls{0};

  /// Choose the algorithm of a direction if not yet chosen. The buffers are the op's own, of the
  /// plan's shapes and type; measuring writes the output one (the op overwrites it afterwards).
  void choose_forward(const void* x_in, const void* w_in, void* y_out);
  void choose_backward_data(const void* w_in, const void* dy_in, void* dx_out);
  void choose_backward_filter(const void* x_in, const void* dy_in, void* dw_out);

  /// Sets the convolution descriptor's math type to a's before a cuDNN call runs it.
  void use(const ConvAlgo& a) const;

  /// What the breakdown reports: "forward IMPLICIT_PRECOMP_GEMM, ..."
  CudaConvAlgorithms describe(const std::string& shape) const;

 private:
  bool tf32_;
  dyn::cudnnMathType_t base_math_;  // the precision's: what the algorithms are listed under
  void set_math(dyn::cudnnMathType_t m) const;
  template <class Algo, class Heuristics, class Find, class WorkspaceSize>
  void settle(ConvAlgo& slot, const char* what, Heuristics&& heuristics, Find&& find, WorkspaceSize&& workspace_size);
};

/// The plan of a convolution shape (cached; never destroyed: at exit cuDNN may be unloaded first).
ConvPlan& conv_plan_for(const ConvBnParams& p, const Tensor& x, const Tensor& w, int64_t ho, int64_t wo);

}  // namespace senet::cuda
