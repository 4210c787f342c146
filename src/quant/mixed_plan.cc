#include "quant/mixed_plan.h"

#include <algorithm>
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
                               double budget_bytes, const SensitivityOptions& options, bool verify) {
  check(std::isfinite(budget_bytes) && budget_bytes > 0, "weight budget must be a positive number of bytes");
  const int64_t budget_bits = int64_t(std::floor(budget_bytes * 8.0));
  MixedPlan p;
  p.sensitivity = layer_sensitivity(calib, proxy, base, options);
  p.choices = kl_costs(p.sensitivity);
  p.front = pareto_front(p.choices);
  p.chosen = allocate_bits(p.choices, budget_bits);  // throws when nothing fits
  if (verify) {
    std::vector<int> floors;
    for (const auto& c : p.choices) floors.insert(floors.end(), c.bits.begin(), c.bits.end());
    std::sort(floors.begin(), floors.end());
    floors.erase(std::unique(floors.begin(), floors.end()), floors.end());
    for (int m : floors) {
      std::vector<LayerChoices> restricted = p.choices;
      int64_t smallest = 0;
      for (auto& c : restricted) {
        LayerChoices r{c.layer, c.weights, {}, {}};
        for (size_t k = 0; k < c.bits.size(); ++k)
          if (c.bits[k] >= m) {
            r.bits.push_back(c.bits[k]);
            r.cost.push_back(c.cost[k]);
          }
        if (r.bits.empty()) {  // no candidate width >= m for this layer: keep its widest
          const size_t w = size_t(std::max_element(c.bits.begin(), c.bits.end()) - c.bits.begin());
          r.bits = {c.bits[w]};
          r.cost = {c.cost[w]};
        }
        smallest += int64_t(*std::min_element(r.bits.begin(), r.bits.end())) * r.weights;
        c = std::move(r);
      }
      if (smallest > budget_bits) break;
      const BitAllocation a = allocate_bits(restricted, budget_bits);
      if (!p.candidates.empty() && p.candidates.back().allocation.bits == a.bits) continue;
      // (restricted keeps the layers' order and costs, so a is also an allocation of p.choices)
      const QuantizeResult q = quantize(calib, recipe_with_bits(base, p.choices, a), QuantizeOptions{0});
      p.candidates.push_back({m, a, evaluate_proxy(q.model.graph, proxy)});
    }
    const MixedPlan::Candidate* best = nullptr;
    for (const auto& c : p.candidates)
      if (!best || c.measured.kl < best->measured.kl ||
          (c.measured.kl == best->measured.kl && c.allocation.size_bits < best->allocation.size_bits))
        best = &c;
    if (best) p.chosen = best->allocation;
  }
  p.recipe = recipe_with_bits(base, p.choices, p.chosen);
  return p;
}

}  // namespace tinyptq
