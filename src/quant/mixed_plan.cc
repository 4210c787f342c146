#include "quant/mixed_plan.h"

#include <cmath>

#include "core/error.h"

namespace tinyptq {

std::vector<LayerChoices> kl_costs(const std::vector<LayerSensitivity>& sensitivity) {
  std::vector<LayerChoices> out;
  for (const auto& s : sensitivity) {
    LayerChoices c;
    c.layer = s.layer;
    c.weights = s.weights;
    for (const auto& r : s.results) {
      c.bits.push_back(r.bits);
      c.cost.push_back(std::max(0.0, r.metrics.kl));
    }
    out.push_back(std::move(c));
  }
  return out;
}

QuantRecipe recipe_with_bits(const QuantRecipe& base, const std::vector<LayerChoices>& choices,
                             const BitAllocation& allocation) {
  check(allocation.bits.size() == choices.size(), "mixed precision: allocation does not match the layers");
  QuantRecipe r = base;
  for (size_t i = 0; i < choices.size(); ++i) r.layers[choices[i].layer].wbits = allocation.bits[i];
  return r;
}

MixedPlan plan_mixed_precision(const Calibration& calib, const ProxySet& proxy, const QuantRecipe& base,
                               double budget_bytes, const SensitivityOptions& options) {
  check(std::isfinite(budget_bytes) && budget_bytes > 0, "weight budget must be a positive number of bytes");
  MixedPlan p;
  p.sensitivity = layer_sensitivity(calib, proxy, base, options);
  p.choices = kl_costs(p.sensitivity);
  p.front = pareto_front(p.choices);
  p.chosen = allocate_bits(p.choices, int64_t(std::floor(budget_bytes * 8.0)));
  p.recipe = recipe_with_bits(base, p.choices, p.chosen);
  return p;
}

}  // namespace tinyptq
