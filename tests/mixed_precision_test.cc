// Mixed-precision bit allocation: the DP picks the exact optimum of small synthetic problems (checked by
// brute force), respects the budget, and its Pareto front is optimal and monotone; held-out selection
// and sensitivity on a small model.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "core/error.h"
#include "quant/mixed_plan.h"
#include "quant/mixed_precision.h"
#include "quant/sensitivity.h"

namespace tinyptq {
namespace {

std::vector<LayerChoices> synthetic(uint32_t seed, int layers) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> weights(1, 300);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<LayerChoices> out;
  for (int l = 0; l < layers; ++l) {
    LayerChoices c;
    c.layer = "l" + std::to_string(l);
    c.weights = weights(rng) * 16;
    const double sens = u(rng) * 3;
    for (int b : {2, 3, 4, 6, 8}) {
      c.bits.push_back(b);
      c.cost.push_back(sens * std::pow(4.0, -b) * (1 + 0.3 * u(rng)));  // noise ~ 4^-b, not monotone in size
    }
    out.push_back(std::move(c));
  }
  return out;
}

// Exhaustive minimum over all allocations within the budget (ties: smaller size).
BitAllocation brute_force(const std::vector<LayerChoices>& layers, int64_t budget) {
  BitAllocation best;
  best.cost = INFINITY;
  std::vector<size_t> idx(layers.size(), 0);
  for (;;) {
    BitAllocation a;
    for (size_t l = 0; l < layers.size(); ++l) {
      a.bits.push_back(layers[l].bits[idx[l]]);
      a.size_bits += layers[l].bits[idx[l]] * layers[l].weights;
      a.cost += layers[l].cost[idx[l]];
    }
    if (a.size_bits <= budget && (a.cost < best.cost || (a.cost == best.cost && a.size_bits < best.size_bits)))
      best = a;
    size_t l = 0;
    while (l < idx.size() && ++idx[l] == layers[l].bits.size()) idx[l++] = 0;
    if (l == idx.size()) break;
  }
  return best;
}

TEST(MixedPrecision, AllocationIsTheExactOptimumWithinTheBudget) {
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    const auto layers = synthetic(seed, 5);
    int64_t lo = 0, hi = 0;
    for (const auto& l : layers) {
      lo += 2 * l.weights;
      hi += 8 * l.weights;
    }
    for (int step = 0; step <= 12; ++step) {
      const int64_t budget = lo + (hi - lo) * step / 12 + step % 3;  // also budgets between unit sizes
      const BitAllocation a = allocate_bits(layers, budget);
      const BitAllocation b = brute_force(layers, budget);
      EXPECT_LE(a.size_bits, budget);
      EXPECT_NEAR(a.cost, b.cost, 1e-12) << "seed " << seed << " budget " << budget;
      EXPECT_EQ(a.bits, b.bits) << "seed " << seed << " budget " << budget;
      int64_t size = 0;
      for (size_t l = 0; l < layers.size(); ++l) size += int64_t(a.bits[l]) * layers[l].weights;
      EXPECT_EQ(size, a.size_bits);
    }
  }
}

TEST(MixedPrecision, ParetoFrontIsOptimalAndMonotone) {
  const auto layers = synthetic(9, 4);
  const auto front = pareto_front(layers);
  ASSERT_GE(front.size(), 2u);
  for (size_t i = 1; i < front.size(); ++i) {
    EXPECT_GT(front[i].size_bits, front[i - 1].size_bits);
    EXPECT_LT(front[i].cost, front[i - 1].cost);
  }
  for (const auto& p : front) EXPECT_NEAR(p.cost, brute_force(layers, p.size_bits).cost, 1e-12);
  int64_t all8 = 0;
  for (const auto& l : layers) all8 += 8 * l.weights;
  EXPECT_LE(front.back().size_bits, all8);
}

TEST(MixedPrecision, CoarseUnitsStillRespectTheBudget) {
  std::vector<LayerChoices> layers;
  for (int l = 0; l < 3; ++l)  // sizes with gcd 1 and a huge total force a coarser unit
    layers.push_back({"l" + std::to_string(l), 1'000'003 + 2 * l, {2, 3, 5}, {3.0 - l * 0.5, 1.0, 0.1}});
  for (int64_t budget : {int64_t(10'000'000), int64_t(12'345'678), int64_t(9'000'030)}) {
    const BitAllocation a = allocate_bits(layers, budget);
    EXPECT_LE(a.size_bits, budget);
  }
}

TEST(MixedPrecision, ErrorsNameTheProblem) {
  auto layers = synthetic(3, 2);
  try {
    allocate_bits(layers, 10);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("smallest allocation"), std::string::npos) << e.what();
  }
  layers[0].cost.pop_back();
  EXPECT_THROW(allocate_bits(layers, 1 << 30), Error);
  layers = synthetic(3, 2);
  layers[1].cost[0] = NAN;
  EXPECT_THROW(pareto_front(layers), Error);
  layers = synthetic(3, 2);
  layers[1].weights = 0;
  EXPECT_THROW(pareto_front(layers), Error);
  EXPECT_THROW(pareto_front({}), Error);
}

TEST(MixedPrecision, RecipeTakesTheChosenWidths) {
  const auto layers = synthetic(4, 3);
  const BitAllocation a = allocate_bits(layers, 4 * (layers[0].weights + layers[1].weights + layers[2].weights));
  const QuantRecipe r = recipe_with_bits(QuantRecipe{}, layers, a);
  for (size_t l = 0; l < layers.size(); ++l) EXPECT_EQ(*r.layers.at(layers[l].layer).wbits, a.bits[l]);
}

TEST(Heldout, DisjointFromCalibrationAndStratified) {
  Dataset d;
  d.count = 300;
  d.labels.resize(300);
  for (int i = 0; i < 300; ++i) d.labels[size_t(i)] = uint8_t(i % 10);
  d.pixels.assign(size_t(300) * Dataset::kImageBytes, 0);
  CalibrationSet cs;
  for (int64_t i = 0; i < 300; i += 3) cs.indices.push_back(i);
  const auto held = heldout_indices(d, cs, 5);
  ASSERT_EQ(held.size(), 50u);
  std::set<int64_t> calib(cs.indices.begin(), cs.indices.end());
  std::vector<int> per_class(10, 0);
  for (int64_t k : held) {
    EXPECT_FALSE(calib.count(k)) << k;
    ++per_class[size_t(d.labels[size_t(k)])];
  }
  for (int c : per_class) EXPECT_EQ(c, 5);
  EXPECT_THROW(heldout_indices(d, cs, 25), Error);  // 30 per class, 10 of them calibration
}

// x[N,2,6,6] → Conv+Relu → Conv → Add → Relu → GAP → Flatten → Gemm → Softmax.
Graph small_model() {
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 0.5f);
  auto t = [&](const Shape& s) {
    Tensor x = Tensor::zeros(s);
    for (float& v : x.f) v = dist(rng);
    return x;
  };
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {-1, 2, 6, 6}});
  g.initializers["w1"] = t({4, 2, 3, 3});
  g.initializers["b1"] = t({4});
  g.initializers["w2"] = t({4, 4, 3, 3});
  g.initializers["b2"] = t({4});
  g.initializers["wf"] = t({5, 4});
  g.initializers["bf"] = t({5});
  Node c1{Op::kConv, "conv1", {"x", "w1", "b1"}, {"c1"}, {}};
  c1.attrs.kernel_shape = {3, 3};
  c1.attrs.pads = {1, 1, 1, 1};
  Node c2 = c1;
  c2.name = "conv2";
  c2.inputs = {"r1", "w2", "b2"};
  c2.outputs = {"c2"};
  Node fc{Op::kGemm, "fc", {"f", "wf", "bf"}, {"logits"}, {}};
  fc.attrs.trans_b = true;
  g.nodes = {c1, {Op::kRelu, "relu1", {"c1"}, {"r1"}, {}}, c2, {Op::kAdd, "add", {"c2", "r1"}, {"a"}, {}},
             {Op::kRelu, "relu2", {"a"}, {"r2"}, {}}, {Op::kGlobalAveragePool, "gap", {"r2"}, {"p"}, {}},
             {Op::kFlatten, "flatten", {"p"}, {"f"}, {}}, fc, {Op::kSoftmax, "softmax", {"logits"}, {"probs"}, {}}};
  g.nodes.back().attrs.axis = 1;
  g.outputs.push_back({"probs", DType::kFloat32, {-1, 5}});
  g.validate_and_sort();
  return g;
}

Tensor images(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 3.0f);
  Tensor t = Tensor::zeros({n, 2, 6, 6});
  for (float& v : t.f) v = u(rng);
  return t;
}

TEST(Sensitivity, FewerBitsHurtMoreAndTheFullPlanFitsTheBudget) {
  Calibration calib(small_model(), images(32, 2));
  const ProxySet proxy = make_proxy_set(calib, images(40, 3));
  EXPECT_EQ(proxy.top1.size(), 40u);
  const ProxyMetrics self = proxy_metrics(proxy, proxy.output, true);
  EXPECT_EQ(self.agreement, 100.0);
  EXPECT_NEAR(self.kl, 0.0, 1e-9);
  QuantRecipe r = preset_recipe("best", 8, 8);
  SensitivityOptions o;
  o.bits = {2, 8};
  o.progress = false;
  const auto sens = layer_sensitivity(calib, proxy, r, o);
  ASSERT_EQ(sens.size(), 3u);  // conv1, conv2, fc
  for (const auto& s : sens) {
    ASSERT_EQ(s.results.size(), 2u);
    EXPECT_GT(s.results[0].metrics.kl, s.results[1].metrics.kl) << s.layer;
    EXPECT_GT(s.results[1].metrics.sqnr_db, s.results[0].metrics.sqnr_db) << s.layer;
  }
  EXPECT_EQ(sens[0].weights, 72);
  const double budget = (72 + 144 + 20) * 5.0 / 8.0;  // average 5 bits
  const MixedPlan plan = plan_mixed_precision(calib, proxy, r, budget, o);
  EXPECT_LE(plan.chosen.bytes(), budget);
  EXPECT_FALSE(plan.front.empty());
  const QuantizeResult q = quantize(calib, plan.recipe);
  for (const auto& l : q.layers) {
    for (size_t i = 0; i < plan.choices.size(); ++i) {
      if (plan.choices[i].layer == l.node) {
        EXPECT_EQ(l.wbits, plan.chosen.bits[i]) << l.node;
      }
    }
  }
}

TEST(Sensitivity, VerifiedCandidatesPickTheLowestMeasuredKl) {
  Calibration calib(small_model(), images(32, 2));
  const ProxySet proxy = make_proxy_set(calib, images(40, 3));
  QuantRecipe r = preset_recipe("best", 8, 8);
  r.adaround = false;
  SensitivityOptions o;
  o.bits = {2, 3, 4, 8};
  o.progress = false;
  const double budget = (72 + 144 + 20) * 3.25 / 8.0;
  const MixedPlan plan = plan_mixed_precision(calib, proxy, r, budget, o);
  ASSERT_EQ(plan.candidates.size(), 2u);  // floors 2 and 3 fit, with different optima
  const MixedPlan::Candidate* lowest = &plan.candidates[0];
  for (size_t i = 0; i < plan.candidates.size(); ++i) {
    const auto& c = plan.candidates[i];
    EXPECT_LE(c.allocation.bytes(), budget);
    for (int b : c.allocation.bits) EXPECT_GE(b, c.min_bits);
    if (i > 0) EXPECT_NE(c.allocation.bits, plan.candidates[i - 1].allocation.bits);
    // measured = the whole model quantized with the candidate's widths
    const QuantizeResult q = quantize(calib, recipe_with_bits(r, plan.choices, c.allocation), QuantizeOptions{0});
    EXPECT_DOUBLE_EQ(evaluate_proxy(q.model.graph, proxy).kl, c.measured.kl);
    if (c.measured.kl < lowest->measured.kl) lowest = &c;
  }
  EXPECT_EQ(plan.chosen.bits, lowest->allocation.bits);
  // Without verification: the plain optimum over all widths.
  const MixedPlan plain = plan_mixed_precision(calib, proxy, r, budget, o, false);
  EXPECT_TRUE(plain.candidates.empty());
  EXPECT_EQ(plain.chosen.bits, allocate_bits(plain.choices, int64_t(budget * 8.0)).bits);
}

}  // namespace
}  // namespace tinyptq
