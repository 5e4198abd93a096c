// senet's own grouped convolution for bf16 activations with few channels per group (ResNeXt's
// 3x3 layers: 4 and 8 per group in its first two stages), where oneDNN 2.6 has no AMX kernel and
// its AVX-512 one ran at 10-50 GFLOP/s on the development VM. Compiled for AVX-512 like
// bf16_loops.cc; call it only for bf16 tensors (which run only on a CPU with avx512_core_bf16).
#pragma once

#include <cstdint>

#include "core/bf16.h"

namespace senet::cpu {

/// The problem: x (N, H, W, C) bf16, w (C, kH, kW, C / groups) bf16 (senet's layout), output
/// (N, Ho, Wo, C); as many channels out as in.
struct GroupedConv {
  int64_t n, h, w, c, ho, wo;
  int64_t groups, kh, kw, sh, sw, ph, pw;
};

/// Whether grouped_conv_forward handles it (and is the faster kernel): 2, 4 or 8 channels per
/// group, and channels a multiple of 16.
bool grouped_conv_fits(const GroupedConv& g);

/// z = conv(x, w) in float32 (products exact, float32 sums, denormals flushed). With scale and shift (C each), the
/// inference epilogue instead: y = relu?(z * scale + shift) rounded to bf16.
void grouped_conv_forward(const GroupedConv& g, const bf16* x, const bf16* w, float* z);
void grouped_conv_forward(const GroupedConv& g, const bf16* x, const bf16* w, const float* scale, const float* shift,
                          bool relu, bf16* y);

/// Whether grouped_conv_backward_data handles it: what grouped_conv_fits takes, at stride 1 with
/// padding below the kernel's size (the input gradient is then the same kind of convolution).
bool grouped_conv_backward_data_fits(const GroupedConv& g);

/// dx (N, H, W, C) bf16, the input gradient of that convolution for dz (N, Ho, Wo, C) bf16: the
/// convolution of dz with padding k - 1 - p and each group's weights transposed and turned 180
/// degrees, summed in float32 and rounded once.
void grouped_conv_backward_data(const GroupedConv& g, const bf16* dz, const bf16* w, bf16* dx);

/// Whether grouped_conv_backward_weights is the kernel to use: what grouped_conv_fits takes, except
/// 8 channels a group at stride 1, where oneDNN 2.6's AMX kernel was the faster on the development
/// VM (stage 2 of SE-ResNeXt-50: 2.35 against 3.0 ms a call).
bool grouped_conv_backward_weights_fits(const GroupedConv& g);

/// dw (C, kH, kW, C / groups) float32, the weight gradient of that convolution from x (N, H, W, C)
/// and dz (N, Ho, Wo, C), both bf16 (any stride and padding grouped_conv_fits takes): products of
/// bf16 values summed in float32 over a fixed split of the output rows, the splits added in order,
/// so runs repeat bit for bit whatever the thread count.
void grouped_conv_backward_weights(const GroupedConv& g, const bf16* x, const bf16* dz, float* dw);

}  // namespace senet::cpu
