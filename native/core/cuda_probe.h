// What the CUDA backend can report without failing: whether it is usable and, if not, exactly
// why. Plain structs, so that the glue can use them whether or not CUDA was built.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace senet {

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;  // compute capability
  uint64_t total_memory = 0;
};

struct CudaLibraryInfo {
  bool loaded = false;
  std::string path;                // what was loaded
  std::string version;             // e.g. "9.10.2"
  std::string reason;              // why not, when not loaded
  std::vector<std::string> tried;  // every name tried, with what dlopen said
};

struct CudaProbe {
  bool built = false;      // the addon was compiled with CUDA
  bool available = false;  // driver, device, cuDNN and cuBLAS all present
  std::string reason;      // the first thing missing, when not available
  int driver_version = 0;  // e.g. 13000 for CUDA 13.0; 0 without a driver
  int runtime_version = 0;
  int selected_device = 0;
  std::vector<CudaDeviceInfo> devices;
  CudaLibraryInfo cudnn, cublas;
};

/// Never throws: failures are reported in the result.
CudaProbe probe_cuda();

/// The cuDNN algorithms chosen for one convolution shape so far (senet bench --breakdown).
struct CudaConvAlgorithms {
  std::string shape;  // e.g. "8x56x56x128 -> 128, 3x3 stride 1, 32 groups, bfloat16"
  std::string forward, backward_data, backward_filter;  // cuDNN's names; "" where not run yet
  uint64_t workspace = 0;                               // the most any of the three asked for
  // cuDNN's measured time of each direction's chosen algorithm, ms; 0 where not measured
  float forward_ms = 0, backward_data_ms = 0, backward_filter_ms = 0;
  // Calls of each direction since the process started (cuDNN's or the cuBLAS product's).
  uint64_t forward_calls = 0, backward_data_calls = 0, backward_filter_calls = 0;
};

/// How convolution algorithms are chosen (from SENET_DETERMINISTIC / SENET_CUDNN_BENCHMARK).
struct CudaConvSelection {
  bool measured = true;        // cudnnFind*AlgorithmEx; false: cuDNN's heuristic order
  bool deterministic = false;  // only algorithms cuDNN marks deterministic
};
CudaConvSelection cuda_conv_selection();

/// Every convolution shape the CUDA backend has planned (empty without CUDA).
std::vector<CudaConvAlgorithms> cuda_conv_algorithms();

/// Chooses the GPU the CUDA backend uses; only before the first CUDA tensor exists.
void select_cuda_device(int index);

/// Waits for all queued GPU work (a no-op without CUDA).
void cuda_synchronize();

}  // namespace senet
