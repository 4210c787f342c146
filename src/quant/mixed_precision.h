// Mixed-precision weight bit allocation: given, per layer, candidate bit widths and an additive cost for
// each (e.g. the KL increase of the network output when only that layer is quantized, from
// sensitivity.h), choose one width per layer minimising Σ cost subject to a weight-size budget
//   size = Σ_l bits_l · weights_l   (in bits; bytes = size / 8; biases are not counted).
// Exact for the additive model: dynamic programming over layers × total size, with sizes in units of
// u = gcd of all candidate sizes bits·weights (ResNet8: u = 16 bits). When that would need more than
// kMaxStates states, sizes are rounded up to a coarser unit, so the budget still holds (the optimum is
// then exact for the rounded sizes). Among equally cheap allocations the smaller one wins.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tinyptq {

struct LayerChoices {
  std::string layer;
  int64_t weights = 0;        // number of weights, > 0
  std::vector<int> bits;      // candidate bit widths (non-empty)
  std::vector<double> cost;   // additive cost of each candidate (same size as bits), finite
};

struct BitAllocation {
  std::vector<int> bits;    // chosen width per layer (order of the choices)
  int64_t size_bits = 0;    // Σ bits · weights
  double cost = 0;          // Σ cost
  double bytes() const { return double(size_bits) / 8.0; }
};

inline constexpr int64_t kMaxStates = 4'000'000;

// The cheapest allocation with size_bits ≤ budget_bits. Throws Error on malformed choices or when even
// the smallest allocation exceeds the budget (the message gives that minimum).
BitAllocation allocate_bits(const std::vector<LayerChoices>& layers, int64_t budget_bits);

// All Pareto-optimal allocations (no other allocation is both no larger and cheaper), ascending size.
std::vector<BitAllocation> pareto_front(const std::vector<LayerChoices>& layers);

}  // namespace tinyptq
