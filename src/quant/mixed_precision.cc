#include "quant/mixed_precision.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace tinyptq {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

void check_choices(const std::vector<LayerChoices>& layers) {
  check(!layers.empty(), "mixed precision: no layers");
  for (const auto& l : layers) {
    check(l.weights > 0, "mixed precision: layer '" + l.layer + "' has no weights");
    check(!l.bits.empty() && l.bits.size() == l.cost.size(),
          "mixed precision: layer '" + l.layer + "' needs one cost per candidate bit width");
    for (size_t i = 0; i < l.bits.size(); ++i) {
      check(l.bits[i] >= 1 && l.bits[i] <= 32, "mixed precision: layer '" + l.layer + "': bad bit width");
      check(std::isfinite(l.cost[i]), "mixed precision: layer '" + l.layer + "': cost is not finite");
      check(l.weights <= (int64_t{1} << 40) / l.bits[i], "mixed precision: layer '" + l.layer + "' is too large");
    }
  }
}

// DP table: best[s] = least cost of the layers so far with total size s·unit; choice[l][s] = candidate.
struct Table {
  int64_t unit = 1, states = 0;
  std::vector<std::vector<int64_t>> units;  // per layer, per candidate: size in units (rounded up)
  std::vector<double> best;
  std::vector<std::vector<int16_t>> choice;
};

Table solve(const std::vector<LayerChoices>& layers) {
  check_choices(layers);
  Table t;
  int64_t g = 0, total = 0;
  for (const auto& l : layers) {
    int64_t mx = 0;
    for (int b : l.bits) {
      g = std::gcd(g, int64_t(b) * l.weights);
      mx = std::max(mx, int64_t(b) * l.weights);
    }
    total += mx;
  }
  t.unit = std::max<int64_t>(g, 1);
  if (total / t.unit + 1 > kMaxStates) t.unit = (total + kMaxStates - 2) / (kMaxStates - 1);
  for (const auto& l : layers) {
    std::vector<int64_t> u;
    for (int b : l.bits) u.push_back((int64_t(b) * l.weights + t.unit - 1) / t.unit);
    t.units.push_back(std::move(u));
  }
  int64_t max_units = 0;
  for (const auto& u : t.units) max_units += *std::max_element(u.begin(), u.end());
  t.states = max_units + 1;
  t.best.assign(size_t(t.states), kInf);
  t.best[0] = 0.0;
  std::vector<double> next(size_t(t.states));
  for (size_t li = 0; li < layers.size(); ++li) {
    std::fill(next.begin(), next.end(), kInf);
    std::vector<int16_t> ch(size_t(t.states), -1);
    for (int64_t s = 0; s < t.states; ++s) {
      if (t.best[size_t(s)] == kInf) continue;
      for (size_t c = 0; c < layers[li].bits.size(); ++c) {
        const int64_t s2 = s + t.units[li][c];
        const double v = t.best[size_t(s)] + layers[li].cost[c];
        if (v < next[size_t(s2)]) {
          next[size_t(s2)] = v;
          ch[size_t(s2)] = int16_t(c);
        }
      }
    }
    t.best.swap(next);
    t.choice.push_back(std::move(ch));
  }
  return t;
}

BitAllocation reconstruct(const std::vector<LayerChoices>& layers, const Table& t, int64_t s) {
  BitAllocation a;
  a.bits.resize(layers.size());
  a.cost = t.best[size_t(s)];
  for (size_t li = layers.size(); li-- > 0;) {
    const int c = t.choice[li][size_t(s)];
    a.bits[li] = layers[li].bits[size_t(c)];
    a.size_bits += int64_t(a.bits[li]) * layers[li].weights;
    s -= t.units[li][size_t(c)];
  }
  return a;
}

}  // namespace

BitAllocation allocate_bits(const std::vector<LayerChoices>& layers, int64_t budget_bits) {
  const Table t = solve(layers);
  int64_t best = -1;
  for (int64_t s = 0; s < t.states && s <= budget_bits / t.unit; ++s)
    if (t.best[size_t(s)] < kInf && (best < 0 || t.best[size_t(s)] < t.best[size_t(best)])) best = s;
  if (best < 0) {
    int64_t min_bits = 0;
    for (const auto& l : layers) min_bits += int64_t(*std::min_element(l.bits.begin(), l.bits.end())) * l.weights;
    throw Error("mixed precision: the smallest allocation takes " + std::to_string(min_bits / 8) +
                " bytes of weights, over the budget of " + std::to_string(budget_bits / 8) + " bytes");
  }
  return reconstruct(layers, t, best);
}

std::vector<BitAllocation> pareto_front(const std::vector<LayerChoices>& layers) {
  const Table t = solve(layers);
  std::vector<BitAllocation> front;
  double best = kInf;
  for (int64_t s = 0; s < t.states; ++s)
    if (t.best[size_t(s)] < best) {
      best = t.best[size_t(s)];
      front.push_back(reconstruct(layers, t, s));
    }
  return front;
}

}  // namespace tinyptq
