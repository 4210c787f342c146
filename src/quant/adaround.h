// AdaRound (Nagel et al. 2020, "Up or Down? Adaptive Rounding for Post-Training Quantization"): learns,
// per weight, whether to round down or up by minimising the layer's output reconstruction error
//   ‖W̃ x̂ − W x‖²  +  λ Σ (1 − |2h(V) − 1|^β),   W̃ = s·(clamp(⌊W/s⌋ + h(V) + zp) − zp),
// h(V) = clamp(σ(V)(ζ − γ) + γ, 0, 1) (rectified sigmoid), β annealed from 20 to 2 after a warm-up.
// x̂ is the layer's input on the already-quantized network, x its FP32 input (same images). With bias
// correction on, the loss leaves out each channel's mean error (the corrected bias absorbs it). The math
// lives in adaround/ (rounding.h: h(V), regulariser, Adam; reconstruction.h: the loss and its gradient).
#pragma once
#include <map>
#include <memory>

#include "quant/quantizer.h"

namespace tinyptq {

namespace adaround {
struct ReconstructionData;
struct GramTerms;
}  // namespace adaround

// One layer's AdaRound problem prepared once (FP32 targets, full-batch Gram terms) and solved for any
// quantization grid, e.g. every bit width of a sensitivity sweep. x_hat and x ([N, ...] in the layer's
// input shape) must outlive the problem.
class AdaRoundProblem {
 public:
  AdaRoundProblem(const Graph& g, const QuantLayer& layer, const Tensor& x_hat, const Tensor& x,
                  const QuantRecipe& recipe);
  ~AdaRoundProblem();
  // Learned rounding of the layer's weight on the grid of params (scales and zero points are kept).
  // Layers the im2col math does not cover (grouped convolution) are rounded to nearest.
  QuantizedWeight round(const QParams& params, int bits) const;
  // Reconstruction loss of a dequantized weight (same loss as the optimisation), for diagnostics.
  double loss(const Tensor& weight) const;

 private:
  QuantLayer layer_;
  QuantRecipe recipe_;
  const Tensor* w_;
  std::vector<float> bias_, target_;
  std::unique_ptr<adaround::ReconstructionData> data_;  // null: not a supported layer
  std::unique_ptr<adaround::GramTerms> gram_;
};

// AdaRoundProblem(g, layer, x_hat, x, recipe).round(params, bits).
QuantizedWeight adaround_layer(const Graph& g, const QuantLayer& layer, const Tensor& x_hat, const Tensor& x,
                               const QParams& params, int bits, const QuantRecipe& recipe);

// adaround_layer with x̂ = the cached FP32 input fake-quantized with its activation params.
QuantizedWeight adaround_weight(const Calibration& calib, const QuantLayer& layer,
                                const std::map<std::string, QParams>& act, const QParams& params, int bits,
                                const QuantRecipe& recipe);

}  // namespace tinyptq
