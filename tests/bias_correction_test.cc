// Empirical bias correction (bias_correction.h): with the corrected bias the quantized layer's output has,
// per channel, the FP32 layer's mean on the calibration images, and its mean output error shrinks.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/fp32_engine.h"
#include "quant/bias_correction.h"
#include "quant/quant_plan.h"
#include "quant/weight_quantizer.h"

namespace tinyptq {
namespace {

Tensor random_tensor(const Shape& s, std::mt19937& rng, float scale, float mean = 0.0f) {
  std::normal_distribution<float> dist(mean, scale);
  std::vector<float> v(size_t(num_elements(s)));
  for (float& x : v) x = dist(rng);
  return Tensor::from_floats(s, std::move(v));
}

// x → Conv(3×3, pad 1, bias) → y, or x → Gemm → y.
Graph one_layer(bool conv, std::mt19937& rng) {
  Graph g;
  if (conv) {
    g.inputs.push_back({"x", DType::kFloat32, {-1, 3, 6, 6}});
    g.initializers["w"] = random_tensor({5, 3, 3, 3}, rng, 0.4f);
    g.initializers["b"] = random_tensor({5}, rng, 0.1f);
    Node n{Op::kConv, "conv", {"x", "w", "b"}, {"y"}, {}};
    n.attrs.kernel_shape = {3, 3};
    n.attrs.pads = {1, 1, 1, 1};
    g.nodes = {n};
  } else {
    g.inputs.push_back({"x", DType::kFloat32, {-1, 12}});
    g.initializers["w"] = random_tensor({5, 12}, rng, 0.4f);
    g.initializers["b"] = random_tensor({5}, rng, 0.1f);
    Node n{Op::kGemm, "fc", {"x", "w", "b"}, {"y"}, {}};
    n.attrs.trans_b = true;
    g.nodes = {n};
  }
  g.outputs.push_back({"y", DType::kFloat32, {}});
  g.validate_and_sort();
  return g;
}

// Mean over images and positions of (y_quant − y_float) per output channel.
std::vector<double> mean_error(const Graph& g, const Tensor& x, const Tensor& x_hat, const Tensor& wq,
                               const Tensor& bq) {
  Graph gq = g;
  gq.initializers["w"] = wq;
  gq.initializers["b"] = bq;
  const Tensor yf = Fp32Engine(g).run(x)[0];
  const Tensor yq = Fp32Engine(gq).run(x_hat)[0];
  const int64_t n = yf.shape[0], c = yf.shape[1], inner = int64_t(yf.f.size()) / (n * c);
  std::vector<double> e(size_t(c), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < inner; ++p) {
        const size_t k = size_t((i * c + ch) * inner + p);
        e[size_t(ch)] += (double(yq.f[k]) - double(yf.f[k])) / double(n * inner);
      }
  return e;
}

void check_correction(bool conv) {
  std::mt19937 rng(conv ? 3 : 4);
  const Graph g = one_layer(conv, rng);
  const QuantPlan plan = plan_quantization(g, QuantRecipe{});
  ASSERT_EQ(plan.layers.size(), 1u);
  // Post-ReLU-like inputs (positive mean: a weight error then shifts the mean output).
  Tensor x = random_tensor(conv ? Shape{40, 3, 6, 6} : Shape{40, 12}, rng, 1.0f, 0.8f);
  for (float& v : x.f) v = std::max(v, 0.0f);
  // x̂: x at 3 bits, as the quantized network would feed the layer.
  const Tensor x_hat = fake_quantized(x, qparams_from_range(0.0f, 2.5f, QuantFormat{Container::kUint8, 3, false, false}));
  // Per-tensor 3-bit weights, nearest rounding: a visible per-channel shift.
  const Tensor& w = *g.initializer("w");
  QuantRecipe r;
  r.per_channel = false;
  const Tensor wq = dequantize_weight(quantize_weight(w, weight_qparams(w, r, 3), 3));
  const Tensor& b = *g.initializer("b");

  const std::vector<double> before = mean_error(g, x, x_hat, wq, b);
  const Tensor corrected = corrected_bias(g, plan.layers[0], x_hat, x, wq);
  const std::vector<double> after = mean_error(g, x, x_hat, wq, corrected);
  double sum_before = 0, sum_after = 0;
  for (size_t c = 0; c < before.size(); ++c) {
    sum_before += std::abs(before[c]);
    sum_after += std::abs(after[c]);
    EXPECT_NEAR(after[c], 0.0, 1e-4) << (conv ? "conv" : "gemm") << " channel " << c;
  }
  EXPECT_GT(sum_before, 100 * std::max(sum_after, 1e-7)) << (conv ? "conv" : "gemm");
  EXPECT_GT(sum_before, 1e-2) << "the fixture must have a shift to correct";
}

TEST(BiasCorrection, RemovesThePerChannelMeanErrorOfAConv) { check_correction(true); }
TEST(BiasCorrection, RemovesThePerChannelMeanErrorOfAGemm) { check_correction(false); }

TEST(BiasCorrection, ExactWeightsAndInputsLeaveTheBiasAlone) {
  std::mt19937 rng(5);
  const Graph g = one_layer(true, rng);
  const QuantPlan plan = plan_quantization(g, QuantRecipe{});
  const Tensor x = random_tensor({8, 3, 6, 6}, rng, 1.0f);
  const Tensor corrected = corrected_bias(g, plan.layers[0], x, x, *g.initializer("w"));
  for (size_t c = 0; c < corrected.f.size(); ++c) EXPECT_FLOAT_EQ(corrected.f[c], g.initializer("b")->f[c]);
}

}  // namespace
}  // namespace tinyptq
