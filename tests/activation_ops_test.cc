// Sigmoid, HardSigmoid and HardSwish end to end: the reference kernel on hand-computed values, the ONNX
// round trip of their attributes, the FP32 engine against ONNX Runtime (within 1e-5) on Conv → act → Conv,
// and the quantized graph (tflite-int8) in the integer engine against ONNX Runtime running the same QDQ
// file (within two steps of the output scale). An op still unsupported (LSTM) fails naming itself.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "engine/fp32_engine.h"
#include "engine/int_engine.h"
#include "kernels/fp32/reference/activation.h"
#include "onnx/onnx_reader.h"
#include "onnx/onnx_writer.h"
#include "ort/ort_runner.h"
#include "quant/quantizer.h"
#include "quant/recipe.h"
#include "model_fixtures.h"
#include "test_util.h"

namespace tinyptq {
namespace {

using testing::max_abs_diff;
using testing::random_tensor;

// x[N,2,6,6] → Conv3x3(4, pad 1) → act → Conv1x1(3) → y. The first conv spreads its output over about
// [-4, 4] so every piece of the hard gates (0, linear, 1) is exercised.
Graph conv_act_conv(Op act, Attrs act_attrs = {}) {
  std::mt19937 rng(11);
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {-1, 2, 6, 6}});
  g.initializers["w1"] = random_tensor(rng, {4, 2, 3, 3}, -0.8f, 0.8f);
  g.initializers["b1"] = random_tensor(rng, {4}, -0.5f, 0.5f);
  g.initializers["w2"] = random_tensor(rng, {3, 4, 1, 1}, -1.0f, 1.0f);
  g.initializers["b2"] = random_tensor(rng, {3}, -0.2f, 0.2f);
  Node c1{Op::kConv, "conv1", {"x", "w1", "b1"}, {"c1"}, {}};
  c1.attrs.kernel_shape = {3, 3};
  c1.attrs.pads = {1, 1, 1, 1};
  Node c2{Op::kConv, "conv2", {"a", "w2", "b2"}, {"y"}, {}};
  c2.attrs.kernel_shape = {1, 1};
  g.nodes = {c1, Node{act, "act", {"c1"}, {"a"}, act_attrs}, c2};
  g.outputs.push_back({"y", DType::kFloat32, {-1, 3, 6, 6}});
  g.validate_and_sort();
  return g;
}

struct Case {
  Op op;
  Attrs attrs;
  std::string label;
};

std::vector<Case> cases() {
  Attrs hs;
  hs.hard_alpha = 0.3f;  // non-default, so the writer must carry it
  hs.hard_beta = 0.4f;
  return {{Op::kSigmoid, {}, "sigmoid"}, {Op::kHardSigmoid, hs, "hard_sigmoid"}, {Op::kHardSwish, {}, "hard_swish"}};
}

TEST(ActivationKernel, HandComputedValues) {
  const std::vector<float> x = {-20.0f, -3.0f, -1.0f, 0.0f, 1.0f, 2.5f, 3.0f, 20.0f};
  std::vector<float> y(x.size());
  Node n{Op::kSigmoid, "s", {"x"}, {"y"}, {}};
  fp32_ref::activation(fp32_ref::activation_params(n, int64_t(x.size())), x.data(), y.data());
  const std::vector<float> sig = {2.0611537e-9f, 0.047425874f, 0.26894142f, 0.5f, 0.7310586f, 0.9241418f,
                                  0.95257413f, 1.0f};
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], sig[i], 1e-7) << "sigmoid(" << x[i] << ")";

  n.op = Op::kHardSigmoid;  // defaults alpha 0.2, beta 0.5: 0 below -2.5, 1 above 2.5
  fp32_ref::activation(fp32_ref::activation_params(n, int64_t(x.size())), x.data(), y.data());
  const std::vector<float> hsig = {0.0f, 0.0f, 0.3f, 0.5f, 0.7f, 1.0f, 1.0f, 1.0f};
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], hsig[i], 1e-6) << "hard_sigmoid(" << x[i] << ")";

  n.op = Op::kHardSwish;  // x·clamp(x/6 + 1/2, 0, 1): 0 below -3, x above 3
  fp32_ref::activation(fp32_ref::activation_params(n, int64_t(x.size())), x.data(), y.data());
  const std::vector<float> hsw = {0.0f, 0.0f, -1.0f / 3.0f, 0.0f, 2.0f / 3.0f, 2.5f * (2.5f / 6 + 0.5f), 3.0f,
                                  20.0f};
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], hsw[i], 1e-6) << "hard_swish(" << x[i] << ")";

  std::vector<float> nan = {std::nanf("")};
  fp32_ref::activation(fp32_ref::activation_params(n, 1), nan.data(), nan.data());
  EXPECT_TRUE(std::isnan(nan[0]));
}

TEST(ActivationOnnx, RoundTripKeepsOpAndAttributes) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.label);
    const Graph g = onnx_bytes_to_graph(graph_to_onnx_bytes(conv_act_conv(c.op, c.attrs)), "m.onnx");
    ASSERT_EQ(g.nodes.size(), 3u);
    EXPECT_EQ(g.nodes[1].op, c.op);
    EXPECT_EQ(g.nodes[1].attrs.hard_alpha, c.attrs.hard_alpha);
    EXPECT_EQ(g.nodes[1].attrs.hard_beta, c.attrs.hard_beta);
  }
}

class ActivationOrt : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(ort_available()) << ort_unavailable_reason(); }
  testing::TempDir dir_;
  std::mt19937 rng_{5};
};

TEST_F(ActivationOrt, Fp32EngineMatchesOnnxRuntime) {
  const Tensor x = random_tensor(rng_, {3, 2, 6, 6}, -3.0f, 3.0f);
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.label);
    const Graph g = conv_act_conv(c.op, c.attrs);
    const std::string path = dir_.file(c.label + ".onnx");
    save_onnx(g, path);
    const double diff = max_abs_diff(Fp32Engine(g).run(x)[0], run_ort(path, x));
    std::printf("[ ORT ] fp32 %s: max |diff| = %.3g\n", c.label.c_str(), diff);
    EXPECT_LE(diff, 1e-5);
  }
}

// Scale of the QuantizeLinear producing the value DequantizeLinear-ed into the graph output.
float output_scale(const Graph& q) {
  for (const Node& n : q.nodes)
    if (n.op == Op::kDequantizeLinear && n.outputs[0] == q.outputs[0].name) return q.initializer(n.inputs[1])->f[0];
  throw Error("graph output is not a DequantizeLinear output");
}

TEST_F(ActivationOrt, QuantizedGraphInIntegerEngineMatchesOnnxRuntime) {
  const Tensor calib_x = random_tensor(rng_, {32, 2, 6, 6}, -3.0f, 3.0f);
  const Tensor x = random_tensor(rng_, {4, 2, 6, 6}, -3.0f, 3.0f);
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.label);
    const Graph g = conv_act_conv(c.op, c.attrs);
    const QuantizeResult res = quantize(Calibration(g, calib_x), preset_recipe("tflite-int8"));
    const Graph& q = res.model.graph;
    // The activation reads a dequantized input and its output is observed and quantized like any other.
    int act = -1;
    for (size_t k = 0; k < q.nodes.size(); ++k)
      if (q.nodes[k].op == c.op) act = int(k);
    ASSERT_GE(act, 0);
    EXPECT_EQ(q.nodes[size_t(q.producer(q.nodes[size_t(act)].inputs[0]))].op, Op::kDequantizeLinear);
    const std::vector<int> users = q.consumers(q.nodes[size_t(act)].outputs[0]);
    ASSERT_EQ(users.size(), 1u);
    EXPECT_EQ(q.nodes[size_t(users[0])].op, Op::kQuantizeLinear);
    const std::string path = dir_.file(c.label + "_qdq.onnx");
    save_onnx(q, path);
    const Tensor ours = IntEngine(q).run(x)[0];
    const Tensor theirs = run_ort(path, x);
    const double step = output_scale(q);
    const double diff = max_abs_diff(ours, theirs);
    const double float_diff = max_abs_diff(ours, Fp32Engine(g).run(x)[0]);
    std::printf("[ ORT ] int8 %s: max |diff| vs ORT QDQ = %.3g (%.2f output steps), vs float = %.3g\n",
                c.label.c_str(), diff, diff / step, float_diff);
    EXPECT_LE(diff, 2 * step + 1e-6);
    EXPECT_LE(float_diff, 4 * step);  // and the quantized graph still computes the float one
  }
}

TEST(ActivationOnnx, StillUnsupportedOpIsNamed) {
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(graph_to_onnx_bytes(conv_act_conv(Op::kSigmoid))));
  m.mutable_graph()->mutable_node(1)->set_op_type("LSTM");
  try {
    onnx_bytes_to_graph(m.SerializeAsString(), "m.onnx");
    FAIL() << "LSTM was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "m.onnx: unsupported operators: LSTM");
  }
}

}  // namespace
}  // namespace tinyptq
