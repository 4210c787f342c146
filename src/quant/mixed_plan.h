// Mixed precision end to end: per-layer sensitivity on held-out images (sensitivity.h), the exact
// cheapest allocation under a weight budget (mixed_precision.h) with cost = KL(p_fp32 ‖ p_q) of each
// (layer, width), and the recipe that quantizes with those per-layer widths.
#pragma once
#include <vector>

#include "quant/mixed_precision.h"
#include "quant/sensitivity.h"

namespace tinyptq {

// One LayerChoices per layer: the candidate widths and their KL cost (nats per image).
std::vector<LayerChoices> kl_costs(const std::vector<LayerSensitivity>& sensitivity);

struct MixedPlan {
  std::vector<LayerSensitivity> sensitivity;
  std::vector<LayerChoices> choices;
  std::vector<BitAllocation> front;  // Pareto front, ascending size
  BitAllocation chosen;              // cheapest within the budget
  QuantRecipe recipe;                // base recipe with layers[name].wbits = the chosen widths
};

// budget_bytes: weight bytes Σ bits·weights/8 (biases excluded). Throws Error if the budget is below the
// smallest allocation.
MixedPlan plan_mixed_precision(const Calibration& calib, const ProxySet& proxy, const QuantRecipe& base,
                               double budget_bytes, const SensitivityOptions& options = {});

// The recipe with per-layer widths from an allocation (layer order of the choices).
QuantRecipe recipe_with_bits(const QuantRecipe& base, const std::vector<LayerChoices>& choices,
                             const BitAllocation& allocation);

}  // namespace tinyptq
