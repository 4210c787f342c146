// The quantizer on a small residual CNN built in the test: plan, QDQ rewrite, determinism, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "engine/fp32_engine.h"
#include "onnx/onnx_writer.h"
#include "quant/quantizer.h"
#include "quant/qdq_rewrite.h"

namespace tinyptq {
namespace {

Tensor random_tensor(const Shape& s, std::mt19937& rng, float scale) {
  std::normal_distribution<float> dist(0.0f, scale);
  Tensor t = Tensor::zeros(s);
  for (float& v : t.f) v = dist(rng);
  return t;
}

// x[N,2,6,6] → Conv3x3(4)+Relu → Conv1x1(4) → Add(relu out) → Relu → GlobalAveragePool → Flatten → Gemm(5) → Softmax
Graph small_resnet(uint32_t seed = 1) {
  std::mt19937 rng(seed);
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {-1, 2, 6, 6}});
  g.initializers["w1"] = random_tensor({4, 2, 3, 3}, rng, 0.5f);
  g.initializers["b1"] = random_tensor({4}, rng, 0.1f);
  g.initializers["w2"] = random_tensor({4, 4, 1, 1}, rng, 0.5f);
  g.initializers["b2"] = random_tensor({4}, rng, 0.1f);
  g.initializers["wf"] = random_tensor({5, 4}, rng, 0.5f);
  g.initializers["bf"] = random_tensor({5}, rng, 0.1f);
  Node c1{Op::kConv, "conv1", {"x", "w1", "b1"}, {"c1"}, {}};
  c1.attrs.kernel_shape = {3, 3};
  c1.attrs.pads = {1, 1, 1, 1};
  Node c2{Op::kConv, "conv2", {"r1", "w2", "b2"}, {"c2"}, {}};
  c2.attrs.kernel_shape = {1, 1};
  Node gemm{Op::kGemm, "fc", {"f", "wf", "bf"}, {"logits"}, {}};
  gemm.attrs.trans_b = true;
  g.nodes = {c1,
             {Op::kRelu, "relu1", {"c1"}, {"r1"}, {}},
             c2,
             {Op::kAdd, "add", {"c2", "r1"}, {"a"}, {}},
             {Op::kRelu, "relu2", {"a"}, {"r2"}, {}},
             {Op::kGlobalAveragePool, "gap", {"r2"}, {"p"}, {}},
             {Op::kFlatten, "flatten", {"p"}, {"f"}, {}},
             gemm,
             {Op::kSoftmax, "softmax", {"logits"}, {"probs"}, {}}};
  g.nodes.back().attrs.axis = 1;
  g.outputs.push_back({"probs", DType::kFloat32, {-1, 5}});
  g.validate_and_sort();
  return g;
}

Tensor calibration_inputs(int64_t n, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(0.0f, 4.0f);
  Tensor t = Tensor::zeros({n, 2, 6, 6});
  for (float& v : t.f) v = dist(rng);
  return t;
}

int count_ops(const Graph& g, Op op) {
  int n = 0;
  for (const auto& node : g.nodes) n += node.op == op;
  return n;
}

TEST(QuantPlan, FusesReluAndSharesPassThroughParams) {
  Graph g = small_resnet();
  QuantPlan plan = plan_quantization(g, QuantRecipe{});
  ASSERT_EQ(plan.layers.size(), 5u);  // conv1, conv2, add, gap, fc
  EXPECT_EQ(plan.layers[0].output_value, "r1");  // relu1 fused into conv1
  EXPECT_EQ(plan.layers[2].output_value, "r2");  // relu2 fused into add
  EXPECT_EQ(plan.layers[1].output_value, "c2");
  EXPECT_EQ(plan.shared_with.at("f"), "p");
  EXPECT_EQ(plan.input_values, std::vector<std::string>{"x"});
  // x, r1, c2, r2, p, logits
  EXPECT_EQ(plan.act_values.size(), 6u);
}

TEST(Quantizer, RewritesToQdqWithPerChannelInt8Weights) {
  Calibration calib(small_resnet(), calibration_inputs(32));
  QuantRecipe r = preset_recipe("tflite-int8");
  QuantizeResult res = quantize(calib, r);
  const Graph& q = res.model.graph;
  EXPECT_EQ(count_ops(q, Op::kQuantizeLinear), 7);  // 6 own values + the flatten output
  EXPECT_EQ(count_ops(q, Op::kDequantizeLinear), 7 + 3 + 3);  // + 3 weights + 3 biases
  int int8_weights = 0;
  for (const auto& [name, t] : q.initializers)
    if (t.dtype == DType::kInt8 && t.shape.size() >= 2) {
      ++int8_weights;
      for (int64_t v : t.i) {
        EXPECT_GE(v, -127);
        EXPECT_LE(v, 127);
      }
    }
  EXPECT_EQ(int8_weights, 3);
  // Per-channel: the conv1 weight DequantizeLinear has a 4-element scale.
  bool found = false;
  for (const auto& n : q.nodes)
    if (n.op == Op::kDequantizeLinear && q.initializer(n.inputs[0]) && q.initializer(n.inputs[0])->shape == Shape{4, 2, 3, 3}) {
      EXPECT_EQ(q.initializer(n.inputs[1])->shape, Shape{4});
      found = true;
    }
  EXPECT_TRUE(found);
  EXPECT_NO_THROW(graph_to_onnx_bytes(q));  // passes the ONNX checker
  ASSERT_EQ(res.layers.size(), 5u);
  for (const auto& l : res.layers) {
    EXPECT_GT(l.scale, 0.0f);
    EXPECT_GT(l.sqnr_db, 15.0) << l.node;  // 8-bit everything: small error
  }
}

TEST(Quantizer, FakeQuantOutputsStayCloseToFloat) {
  Graph g = small_resnet();
  Tensor x = calibration_inputs(64);
  Calibration calib(g, x);
  for (const auto& preset : preset_names()) {
    QuantizeResult res = quantize(calib, preset_recipe(preset));
    Fp32Engine f(g), s(res.model.graph);
    Tensor a = f.run(x)[0], b = s.run(x)[0];
    ASSERT_EQ(a.f.size(), b.f.size());
    double max_err = 0;
    for (size_t k = 0; k < a.f.size(); ++k) max_err = std::max(max_err, double(std::abs(a.f[k] - b.f[k])));
    EXPECT_LT(max_err, 0.05) << preset;
  }
}

TEST(Quantizer, SameInputsGiveIdenticalBytes) {
  for (const auto& preset : preset_names()) {
    Calibration c1(small_resnet(), calibration_inputs(16));
    Calibration c2(small_resnet(), calibration_inputs(16));
    EXPECT_EQ(graph_to_onnx_bytes(quantize(c1, preset_recipe(preset)).model.graph),
              graph_to_onnx_bytes(quantize(c2, preset_recipe(preset)).model.graph))
        << preset;
  }
}

TEST(Quantizer, LowBitWeightsStayInTheirNarrowedRange) {
  Calibration calib(small_resnet(), calibration_inputs(16));
  QuantRecipe r = preset_recipe("best");
  r.wbits = 4;
  r.abits = 4;
  QuantizeResult res = quantize(calib, r);
  for (const auto& [name, t] : res.model.graph.initializers)
    if (t.dtype == DType::kInt8 && t.shape.size() >= 2)
      for (int64_t v : t.i) {
        EXPECT_GE(v, -7);
        EXPECT_LE(v, 7);
      }
  EXPECT_FALSE(res.model.graph.metadata.empty());  // narrowed widths recorded
}

TEST(Quantizer, ZeroWeightsGetAValidScale) {
  Graph g = small_resnet();
  for (float& v : g.initializers["w2"].f) v = 0.0f;
  Calibration calib(g, calibration_inputs(8));
  for (const auto& preset : preset_names()) {
    QuantizeResult res = quantize(calib, preset_recipe(preset));
    for (const auto& [name, t] : res.model.graph.initializers)
      if (t.dtype == DType::kFloat32)
        for (float v : t.f) EXPECT_TRUE(std::isfinite(v)) << name;
  }
}

TEST(QuantizerErrors, EmptyCalibrationSet) {
  EXPECT_THROW(Calibration(small_resnet(), Tensor::zeros({0, 2, 6, 6})), Error);
}

TEST(QuantizerErrors, NaNInCalibrationData) {
  Tensor x = calibration_inputs(4);
  x.f[3] = NAN;
  EXPECT_THROW(Calibration(small_resnet(), x), Error);
}

TEST(QuantizerErrors, NaNInWeights) {
  Graph g = small_resnet();
  g.initializers["wf"].f[0] = INFINITY;
  try {
    Calibration calib(g, calibration_inputs(4));
    quantize(calib, preset_recipe("best"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("NaN or Inf"), std::string::npos) << e.what();
  }
}

TEST(QuantizerErrors, NoQuantizableLayer) {
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {-1, 5}});
  g.nodes.push_back({Op::kSoftmax, "softmax", {"x"}, {"y"}, {}});
  g.outputs.push_back({"y", DType::kFloat32, {-1, 5}});
  try {
    Calibration calib(g, Tensor::zeros({2, 5}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no quantizable layer"), std::string::npos) << e.what();
  }
}

TEST(QuantizerErrors, UnknownPresetListsValidNames) {
  try {
    preset_recipe("tensorrt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ort-int8"), std::string::npos);
  }
}

TEST(QuantizerErrors, LayerOverrideOfAnUnknownNodeNamesItAndTheLayers) {
  Calibration calib(small_resnet(), calibration_inputs(4));
  QuantRecipe r = preset_recipe("best");
  r.layers["conv3"].keep_float = true;
  try {
    quantize(calib, r);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("'conv3'"), std::string::npos) << m;
    EXPECT_NE(m.find("conv1, conv2, add, gap, fc"), std::string::npos) << m;
  }
  r.layers.clear();
  r.layers["relu1"].keep_float = true;  // a node, but not a quantizable layer
  EXPECT_THROW(quantize(calib, r), Error);
  r.layers.clear();
  r.layers["conv2"].keep_float = true;
  const Graph q = quantize(calib, r).model.graph;
  for (const auto& n : q.nodes)
    if (n.op == Op::kConv) {  // quantized weights arrive through a DequantizeLinear, float ones directly
      EXPECT_EQ(q.is_initializer(n.inputs[1]) && q.initializer(n.inputs[1])->dtype == DType::kFloat32,
                n.name == "conv2")
          << n.name;
    }
}

TEST(QuantizerErrors, BadBitWidths) {
  Calibration calib(small_resnet(), calibration_inputs(4));
  QuantRecipe r = preset_recipe("best");
  r.wbits = 1;
  EXPECT_THROW(quantize(calib, r), Error);
  r.wbits = 8;
  r.abits = 9;
  EXPECT_THROW(quantize(calib, r), Error);
}

}  // namespace
}  // namespace tinyptq
