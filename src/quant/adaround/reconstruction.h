// One layer's AdaRound problem: find the rounding of W that minimises the output reconstruction error on
// the calibration images,
//   L_rec = 1/(N·P) Σ_{n,p} Σ_c (e[n,c,p])²,   e = ŷ − t,
// where ŷ = W̃·cols(x̂) with x̂ the layer's input on the quantized network, and the target t the FP32 layer
// output W·cols(x) (pre-activation loss) or act(W·cols(x) + b) with ŷ ← act(ŷ + b) (post-activation loss,
// act = the fused Relu/Clip).
// Centered (pre-activation only): bias correction will remove each channel's mean error ē_c, so the loss
// is the error's variance, L_rec − Σ_c ē_c². This also removes the large "DC" direction of all-positive
// inputs (raw pixels, post-ReLU activations) that otherwise dominates the gradient.
// Two ways to get ∂L_rec/∂W̃:
//   mini-batch: B images per step drawn without replacement from seeded epochs (std::mt19937_64), forward
//               and backward with im2col + matmul; supports both losses (centered: an unbiased estimate of
//               2·Cov(e, cols) with both factors centered by the whole-set means);
//   full batch: the pre-activation loss is quadratic in W̃: with Ĥ = Σ cols(x̂)·cols(x̂)ᵀ and
//               B0 = Σ t·cols(x̂)ᵀ over all images, ∂L_rec/∂W̃ = 2/(N·P)·(W̃·Ĥ − B0), exact for the whole set
//               at O(Cout·K²) per step after one O(N·P·K²) pass. Centered: Ĥ − N·P·m̂m̂ᵀ and B0 − N·P·t̄m̂ᵀ
//               (m̂ = mean column of x̂, t̄ = mean target per channel).
// Rows (output channels) are independent, so each thread optimises a contiguous block of rows for all
// iterations; results do not depend on the thread count.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "quant/adaround/linear_layer.h"
#include "quant/adaround/rounding.h"

namespace tinyptq::adaround {

struct ReconstructionData {
  LinearLayer layer;
  int64_t images = 0;
  const float* x_hat = nullptr;   // [images, in_size]
  const float* target = nullptr;  // [images, Cout, P]
  bool centered = false;          // loss without each channel's mean error (pre-activation only)
  // Post-activation loss: ŷ ← clamp(ŷ + bias, act_min, act_max) and target likewise already activated.
  bool post_activation = false;
  const float* bias = nullptr;  // [Cout]
  float act_min = 0.0f, act_max = std::numeric_limits<float>::infinity();
};

struct RoundingOptions {
  RoundingSchedule schedule;
  int batch = 32;           // images per mini-batch step
  bool full_batch = false;  // quadratic form (pre-activation loss only)
  uint64_t seed = 0;
  int threads = 2;
  std::string label;  // progress label ("" = no progress bar)
};

// The weight's quantization grid: per row (or one for all rows) scale and zero point, codes [lo, hi].
struct RoundingGrid {
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
  int32_t lo = 0, hi = 0;
};

// The full-batch terms Ĥ [K, K] and B0 [Cout, K] (centered when the data is), summed over fixed parts of
// 64 images in a fixed order. They depend on the data only, not on the weight grid.
struct GramTerms {
  std::vector<float> h, b0;
};
GramTerms gram_terms(const ReconstructionData& data, int threads = 2);

// The learned integer codes [Cout, K] for w [Cout, K]. gram: precomputed gram_terms(data) for the
// full-batch form (computed here when null). Throws Error on inconsistent sizes or a post-activation loss
// with full_batch or centering.
std::vector<int64_t> optimise_rounding(const ReconstructionData& data, const float* w, const RoundingGrid& grid,
                                       const RoundingOptions& options, const GramTerms* gram = nullptr);

// L_rec of weights w on the whole set (same loss as the data's, centered if it is).
double reconstruction_loss(const ReconstructionData& data, const float* w, int threads = 2);

// ∂L_rec/∂W̃ at w on the listed images (all images when images is null), as the mini-batch step
// computes it. For tests and diagnostics.
std::vector<float> reconstruction_gradient(const ReconstructionData& data, const float* w,
                                           const int64_t* images = nullptr, int64_t count = 0);

// Mini-batch image indices for every step: consecutive slices of seeded epoch permutations of [0, images).
std::vector<int64_t> minibatch_schedule(int64_t images, int batch, int iterations, uint64_t seed);

}  // namespace tinyptq::adaround
