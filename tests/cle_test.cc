// Cross-layer equalization: float outputs unchanged, per-channel ranges of each pair equalized, residual
// and multi-consumer values left alone, and the quantizer's +CLE path.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "data/cifar.h"
#include "engine/fp32_engine.h"
#include "eval/evaluate.h"
#include "eval/model_io.h"
#include "quant/cle.h"
#include "quant/prepare_graph.h"
#include "quant/quantizer.h"
#include "test_util.h"

namespace tinyptq {
namespace {

// ‖a − b‖ / ‖a‖ over the float elements (a and b of one size).
double relative_l2(const Tensor& a, const Tensor& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.f.size(); ++i) {
    num += double(a.f[i] - b.f[i]) * (a.f[i] - b.f[i]);
    den += double(a.f[i]) * a.f[i];
  }
  return std::sqrt(num / den);
}

Tensor random_tensor(const Shape& s, std::mt19937& rng, float scale) {
  std::normal_distribution<float> dist(0.0f, scale);
  Tensor t = Tensor::zeros(s);
  for (float& v : t.f) v = dist(rng);
  return t;
}

// Output channels of w scaled by very different factors, so equalization has work to do.
Tensor skewed(Tensor w, std::mt19937& rng) {
  std::uniform_real_distribution<float> f(-3.0f, 3.0f);
  const int64_t inner = int64_t(w.f.size()) / w.shape[0];
  for (int64_t c = 0; c < w.shape[0]; ++c) {
    const float s = std::exp(f(rng));
    for (int64_t k = 0; k < inner; ++k) w.f[size_t(c * inner + k)] *= s;
  }
  return w;
}

Node conv(const std::string& name, const std::string& in, const std::string& w, const std::string& b,
          const std::string& out, int64_t k) {
  Node n{Op::kConv, name, {in, w, b}, {out}, {}};
  n.attrs.kernel_shape = {k, k};
  n.attrs.pads = {k / 2, k / 2, k / 2, k / 2};
  return n;
}

// x → c1 → relu → c2 → relu → c3 (chain: c2 is in two pairs) → relu → r3
//   r3 → c4 → add(c4, r3) → relu → c5 (r3 has two consumers: no pair c3→c4; the add blocks c4→c5)
Graph chain_graph(uint32_t seed) {
  std::mt19937 rng(seed);
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {-1, 3, 6, 6}});
  const Shape shapes[] = {{6, 3, 3, 3}, {5, 6, 3, 3}, {4, 5, 1, 1}, {4, 4, 3, 3}, {3, 4, 1, 1}};
  for (int i = 0; i < 5; ++i) {
    g.initializers["w" + std::to_string(i + 1)] = skewed(random_tensor(shapes[i], rng, 0.5f), rng);
    g.initializers["b" + std::to_string(i + 1)] = random_tensor({shapes[i][0]}, rng, 0.2f);
  }
  g.nodes = {conv("c1", "x", "w1", "b1", "y1", 3),  {Op::kRelu, "relu1", {"y1"}, {"r1"}, {}},
             conv("c2", "r1", "w2", "b2", "y2", 3), {Op::kRelu, "relu2", {"y2"}, {"r2"}, {}},
             conv("c3", "r2", "w3", "b3", "y3", 1), {Op::kRelu, "relu3", {"y3"}, {"r3"}, {}},
             conv("c4", "r3", "w4", "b4", "y4", 3), {Op::kAdd, "add", {"y4", "r3"}, {"a"}, {}},
             {Op::kRelu, "relu4", {"a"}, {"r4"}, {}}, conv("c5", "r4", "w5", "b5", "y5", 1)};
  g.outputs.push_back({"y5", DType::kFloat32, {-1, 3, 6, 6}});
  g.validate_and_sort();
  return g;
}

float out_range(const Tensor& w, int64_t c) {
  const int64_t inner = int64_t(w.f.size()) / w.shape[0];
  float r = 0;
  for (int64_t k = 0; k < inner; ++k) r = std::max(r, std::fabs(w.f[size_t(c * inner + k)]));
  return r;
}

float in_range(const Tensor& w, int64_t i) {
  const int64_t spatial = w.shape[2] * w.shape[3];
  float r = 0;
  for (int64_t o = 0; o < w.shape[0]; ++o)
    for (int64_t k = 0; k < spatial; ++k) r = std::max(r, std::fabs(w.f[size_t((o * w.shape[1] + i) * spatial + k)]));
  return r;
}

TEST(Cle, PreservesFloatOutputs) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    const Graph g = chain_graph(seed);
    Graph e = g;
    EXPECT_EQ(equalize_cross_layer(e), 2) << seed;  // c1→c2 and c2→c3
    std::mt19937 rng(seed + 10);
    const Tensor x = random_tensor({4, 3, 6, 6}, rng, 1.0f);
    const Tensor a = Fp32Engine(g).run(x)[0], b = Fp32Engine(e).run(x)[0];
    ASSERT_EQ(a.f.size(), b.f.size());
    EXPECT_LT(relative_l2(a, b), 1e-4) << seed;
  }
}

TEST(Cle, EqualizesTheRangesOfEachPair) {
  Graph g = chain_graph(4);
  equalize_cross_layer(g);
  const Tensor &w1 = g.initializers.at("w1"), &w2 = g.initializers.at("w2"), &w3 = g.initializers.at("w3");
  for (int64_t i = 0; i < w1.shape[0]; ++i)
    EXPECT_NEAR(out_range(w1, i), in_range(w2, i), 1e-4 * in_range(w2, i)) << "c1/c2 channel " << i;
  for (int64_t i = 0; i < w2.shape[0]; ++i)
    EXPECT_NEAR(out_range(w2, i), in_range(w3, i), 1e-4 * in_range(w3, i)) << "c2/c3 channel " << i;
  // The skew of c1's output ranges shrinks (max/min ratio).
  const Graph before = chain_graph(4);
  auto spread = [](const Tensor& w) {
    float lo = INFINITY, hi = 0;
    for (int64_t c = 0; c < w.shape[0]; ++c) {
      lo = std::min(lo, out_range(w, c));
      hi = std::max(hi, out_range(w, c));
    }
    return hi / lo;
  };
  EXPECT_LT(spread(w1), spread(before.initializers.at("w1")));
}

TEST(Cle, LeavesResidualAndSharedValuesAlone) {
  const Graph g = chain_graph(5);
  Graph e = g;
  equalize_cross_layer(e);
  for (const char* w : {"w4", "w5", "b4", "b5"}) EXPECT_EQ(e.initializers.at(w).f, g.initializers.at(w).f) << w;
  // c3's output channels are scaled only as c2→c3's second layer (its input channels), never its outputs:
  // its output r3 has two consumers.
  const Tensor &b3 = e.initializers.at("b3"), &b3_0 = g.initializers.at("b3");
  EXPECT_EQ(b3.f, b3_0.f);
}

TEST(Cle, SkipsSharedWeightsAndValuesWithSeveralConsumers) {
  Graph g = chain_graph(6);
  g.nodes.push_back(conv("c6", "x", "w1", "", "y6", 3));  // w1 read by c1 and c6: c1→c2 is not a pair
  g.outputs.push_back({"y6", DType::kFloat32, {}});
  g.validate_and_sort();
  Graph e = g;
  EXPECT_EQ(equalize_cross_layer(e), 1);  // c2→c3 only
  EXPECT_EQ(e.initializers.at("w1").f, g.initializers.at("w1").f);
  g.initializers["w7"] = Tensor::zeros({2, 5, 3, 3});
  g.nodes.push_back(conv("c7", "r2", "w7", "", "y7", 3));  // r2 now has two consumers: c2→c3 goes too
  g.outputs.push_back({"y7", DType::kFloat32, {}});
  g.validate_and_sort();
  e = g;
  EXPECT_EQ(equalize_cross_layer(e), 0);
  EXPECT_EQ(e.initializers.at("w2").f, g.initializers.at("w2").f);
  Graph empty;
  EXPECT_EQ(equalize_cross_layer(empty), 0);
}

TEST(Cle, ZeroChannelsKeepTheirScale) {
  Graph g = chain_graph(7);
  Tensor& w1 = g.initializers.at("w1");
  const int64_t inner = int64_t(w1.f.size()) / w1.shape[0];
  for (int64_t k = 0; k < inner; ++k) w1.f[size_t(k)] = 0.0f;  // channel 0 dead
  Graph e = g;
  equalize_cross_layer(e);
  for (const auto& [name, t] : e.initializers)
    for (float v : t.f) EXPECT_TRUE(std::isfinite(v)) << name;
  EXPECT_EQ(e.initializers.at("b1").f[0], g.initializers.at("b1").f[0]);  // s = 1 for the dead channel
  std::mt19937 rng(17);
  const Tensor x = random_tensor({2, 3, 6, 6}, rng, 1.0f);
  const Tensor a = Fp32Engine(g).run(x)[0], b = Fp32Engine(e).run(x)[0];
  for (size_t i = 0; i < a.f.size(); ++i) EXPECT_NEAR(a.f[i], b.f[i], 1e-3 * (1 + std::fabs(a.f[i])));
}

TEST(Cle, QuantizerWithCleKeepsTheFloatGraphFunction) {
  const Graph g = chain_graph(8);
  std::mt19937 rng(9);
  Tensor x = random_tensor({16, 3, 6, 6}, rng, 1.0f);
  Calibration plain(g, x), equalized(g, x, true);
  EXPECT_TRUE(equalized.cle());
  const Tensor a = Fp32Engine(plain.graph()).run(x)[0], b = Fp32Engine(equalized.graph()).run(x)[0];
  for (size_t i = 0; i < a.f.size(); ++i) EXPECT_NEAR(a.f[i], b.f[i], 1e-3 * (1 + std::fabs(a.f[i])));
  QuantRecipe r = preset_recipe("ort-int8");
  r.cross_layer_equalization = true;
  EXPECT_NO_THROW(quantize(equalized, r));
  EXPECT_NE(r.summary().find("+CLE"), std::string::npos);
}

// The real ResNet8: only the conv→ReLU→conv pair inside each of the three residual blocks qualifies (every
// other activation feeds a residual Add as well), and the float function is unchanged.
TEST(Cle, ResNet8EqualizesTheThreeInnerPairsAndKeepsItsOutputs) {
  const Graph model = load_model(testing::resnet8_onnx());
  const Graph g = prepare_for_quantization(model);
  Graph e = g;
  EXPECT_EQ(equalize_cross_layer(e), 3);
  const Dataset test = load_cifar10(testing::cifar_dir(), Split::kTest, 64);
  const Tensor x = image_batch(test, 0, test.count, input_layout(model), Preprocess{});
  const Tensor a = Fp32Engine(g).run(x)[0], b = Fp32Engine(e).run(x)[0];
  ASSERT_EQ(a.f.size(), b.f.size());
  EXPECT_LT(relative_l2(a, b), 1e-5);
  int changed = 0;  // weights that CLE rescaled: the 3 pairs, 2 weights each
  for (const auto& [name, t] : g.initializers)
    if (t.shape.size() == 4 && t.f != e.initializers.at(name).f) ++changed;
  EXPECT_EQ(changed, 6);
}

}  // namespace
}  // namespace tinyptq
