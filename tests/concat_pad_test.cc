// Concat and Pad end to end: the reference kernels on hand-computed values and their errors, the ONNX round
// trip (opset 13 inputs and the opset < 11 attribute form), the FP32 engine against ONNX Runtime (within
// 1e-5) for every pad mode, negative pads and Concat on channels, rows and features, and the quantized
// graph in the integer engine against ONNX Runtime running the same QDQ file. Concat along the batch axis
// runs in the FP32 engine and is refused, naming the node, by the integer engine.
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
#include "export_c/c_program.h"
#include "kernels/fp32/reference/concat.h"
#include "kernels/fp32/reference/pad.h"
#include "onnx/onnx_reader.h"
#include "onnx/onnx_writer.h"
#include "ort/ort_runner.h"
#include "quant/quantizer.h"
#include "quant/recipe.h"
#include "model_fixtures.h"
#include "test_util.h"

namespace tinyptq {
namespace {

using testing::error_of;
using testing::max_abs_diff;
using testing::random_tensor;

namespace ref = fp32_ref;

// ---- kernels ----

TEST(PadKernel, ModesOnHandComputedRows) {
  const std::vector<float> x = {1, 2, 3, 4};  // shape [1, 4]
  struct Case {
    PadMode mode;
    std::vector<int64_t> amounts;
    std::vector<float> want;
  };
  const Case cases[] = {
      {PadMode::kConstant, {0, 2, 0, 1}, {9, 9, 1, 2, 3, 4, 9}},
      {PadMode::kEdge, {0, 2, 0, 1}, {1, 1, 1, 2, 3, 4, 4}},
      {PadMode::kReflect, {0, 3, 0, 2}, {4, 3, 2, 1, 2, 3, 4, 3, 2}},
      {PadMode::kConstant, {0, -1, 0, -2}, {2}},   // negative pads crop
      {PadMode::kConstant, {0, -1, 0, 2}, {2, 3, 4, 9, 9}},
  };
  for (const Case& c : cases) {
    const auto p = ref::make_pad_params({1, 4}, c.amounts, c.mode, 9.0f);
    ASSERT_EQ(p.out_shape, (Shape{1, int64_t(c.want.size())}));
    std::vector<float> y(c.want.size(), -1.0f);
    ref::pad(p, x.data(), y.data());
    EXPECT_EQ(y, c.want);
  }
}

TEST(PadKernel, TwoDimensionsAndTheOuterAxis) {
  // [2, 2] → pads (1, 0, 0, 1): one row on top, one column on the right.
  const std::vector<float> x = {1, 2, 3, 4};
  const auto p = ref::make_pad_params({2, 2}, {1, 0, 0, 1}, PadMode::kConstant, 0.0f);
  ASSERT_EQ(p.out_shape, (Shape{3, 3}));
  std::vector<float> y(9);
  ref::pad(p, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{0, 0, 0, 1, 2, 0, 3, 4, 0}));
  const auto e = ref::make_pad_params({2, 2}, {1, 1, 1, 1}, PadMode::kEdge, 0.0f);
  std::vector<float> ye(16);
  ref::pad(e, x.data(), ye.data());
  EXPECT_EQ(ye, (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
}

TEST(PadKernel, BadPadsAreErrors) {
  EXPECT_NE(error_of([] { ref::make_pad_params({1, 4}, {0, 1}, PadMode::kConstant, 0); }).find("expected 4"),
            std::string::npos);
  EXPECT_NE(error_of([] { ref::make_pad_params({1, 4}, {0, 4, 0, 0}, PadMode::kReflect, 0); })
                .find("reflect pads must be smaller"),
            std::string::npos);
  EXPECT_NE(error_of([] { ref::make_pad_params({1, 4}, {0, -1, 0, 0}, PadMode::kEdge, 0); })
                .find("negative pads are only supported in constant mode"),
            std::string::npos);
  EXPECT_NE(error_of([] { ref::make_pad_params({1, 4}, {0, -3, 0, -2}, PadMode::kConstant, 0); })
                .find("crop more than the dimension holds"),
            std::string::npos);
  EXPECT_NE(error_of([] { ref::make_pad_params({1, 4}, {0, int64_t(1) << 50, 0, 0}, PadMode::kConstant, 0); })
                .find("out of range"),
            std::string::npos);
}

TEST(ConcatKernel, AxesAndMismatch) {
  const std::vector<float> a = {1, 2, 3, 4};  // [2, 2]
  const std::vector<float> b = {5, 6};        // [2, 1] on axis 1, or [1, 2] on axis 0
  const float* xs[] = {a.data(), b.data()};
  auto p = ref::make_concat_params({{2, 2}, {2, 1}}, -1);
  ASSERT_EQ(p.out_shape, (Shape{2, 3}));
  std::vector<float> y(6);
  ref::concat(p, xs, y.data());
  EXPECT_EQ(y, (std::vector<float>{1, 2, 5, 3, 4, 6}));
  p = ref::make_concat_params({{2, 2}, {1, 2}}, 0);
  ASSERT_EQ(p.out_shape, (Shape{3, 2}));
  ref::concat(p, xs, y.data());
  EXPECT_EQ(y, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_NE(error_of([] { ref::make_concat_params({{2, 2}, {3, 1}}, 1); }).find("Concat input 1 has shape [3,1]"),
            std::string::npos);
  EXPECT_NE(error_of([] { ref::make_concat_params({{2, 2}}, 2); }).find("out of range"), std::string::npos);
}

// ---- graphs ----

// x[N,2,6,6] → Conv3x3(4, pad 1) → Relu → Pad(pads, mode) → Conv3x3 → a[N,3,·,·]
//                                                       └→ Conv3x3 → b[N,5,·,·] → Concat(a, b, axis) → y
// axis 1 joins channels; axis 2 joins rows (then b has 3 channels too).
Graph pad_concat_graph(PadMode mode, std::vector<int64_t> pads, float value, int64_t axis) {
  std::mt19937 rng(7);
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {-1, 2, 6, 6}});
  const int64_t b_channels = axis == 1 ? 5 : 3;
  g.initializers["w1"] = random_tensor(rng, {4, 2, 3, 3}, -0.6f, 0.6f);
  g.initializers["b1"] = random_tensor(rng, {4}, -0.2f, 0.5f);
  g.initializers["wa"] = random_tensor(rng, {3, 4, 3, 3}, -0.4f, 0.4f);
  g.initializers["wb"] = random_tensor(rng, {b_channels, 4, 3, 3}, -0.4f, 0.4f);
  Node c1{Op::kConv, "conv1", {"x", "w1", "b1"}, {"c1"}, {}};
  c1.attrs.kernel_shape = {3, 3};
  c1.attrs.pads = {1, 1, 1, 1};
  Node pad{Op::kPad, "pad", {"r"}, {"p"}, {}};
  pad.attrs.pad_amounts = std::move(pads);
  pad.attrs.pad_mode = mode;
  pad.attrs.pad_value = value;
  Node ca{Op::kConv, "conv_a", {"p", "wa"}, {"a"}, {}};
  ca.attrs.kernel_shape = {3, 3};
  Node cb{Op::kConv, "conv_b", {"p", "wb"}, {"b"}, {}};
  cb.attrs.kernel_shape = {3, 3};
  Node cat{Op::kConcat, "cat", {"a", "b"}, {"y"}, {}};
  cat.attrs.axis = axis;
  g.nodes = {c1, Node{Op::kRelu, "relu", {"c1"}, {"r"}, {}}, pad, ca, cb, cat};
  g.outputs.push_back({"y", DType::kFloat32, {}});
  g.validate_and_sort();
  return g;
}

struct GraphCase {
  std::string label;
  PadMode mode;
  std::vector<int64_t> pads;
  float value;
  int64_t axis;
};

std::vector<GraphCase> graph_cases() {
  return {{"constant0_channels", PadMode::kConstant, {0, 0, 1, 1, 0, 0, 1, 1}, 0.0f, 1},
          {"constant_value_rows", PadMode::kConstant, {0, 0, 2, 0, 0, 0, 1, 2}, 0.75f, 2},
          {"reflect_channels", PadMode::kReflect, {0, 0, 1, 2, 0, 0, 2, 1}, 0.0f, 1},
          {"edge_last_axis", PadMode::kEdge, {0, 0, 1, 1, 0, 0, 1, 1}, 0.0f, -1},
          {"crop_and_pad", PadMode::kConstant, {0, 0, -1, 2, 0, 0, 2, -1}, 0.0f, 1}};
}

TEST(ConcatPadOnnx, RoundTripKeepsAttributes) {
  for (const GraphCase& c : graph_cases()) {
    SCOPED_TRACE(c.label);
    const Graph g = onnx_bytes_to_graph(graph_to_onnx_bytes(pad_concat_graph(c.mode, c.pads, c.value, c.axis)),
                                        "m.onnx");
    int pads = 0, cats = 0;
    for (const Node& n : g.nodes) {
      if (n.op == Op::kPad) {
        ++pads;
        EXPECT_EQ(n.inputs.size(), 1u);  // canonical form: the pads and value inputs became attributes
        EXPECT_EQ(n.attrs.pad_amounts, c.pads);
        EXPECT_EQ(n.attrs.pad_mode, c.mode);
        EXPECT_EQ(n.attrs.pad_value, c.mode == PadMode::kConstant ? c.value : 0.0f);
      }
      if (n.op == Op::kConcat) {
        ++cats;
        EXPECT_EQ(n.attrs.axis, c.axis);
      }
    }
    EXPECT_EQ(pads, 1);
    EXPECT_EQ(cats, 1);
    for (const auto& [name, t] : g.initializers) EXPECT_EQ(name.find("_pads"), std::string::npos) << name;
  }
}

// Opset 10 carries pads and value as attributes; opset 13 with a non-constant pads input is refused.
TEST(ConcatPadOnnx, OpsetTenAttributesAndNonConstantPads) {
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(graph_to_onnx_bytes(
      pad_concat_graph(PadMode::kConstant, {0, 0, 1, 1, 0, 0, 1, 1}, 0.5f, 1))));
  onnx::ModelProto old = m;
  old.mutable_opset_import(0)->set_version(10);
  for (auto& n : *old.mutable_graph()->mutable_node()) {
    if (n.op_type() != "Pad") continue;
    n.clear_input();
    n.add_input("r");
    auto* pads = n.add_attribute();
    pads->set_name("pads");
    pads->set_type(onnx::AttributeProto::INTS);
    for (int64_t v : {0, 0, 1, 1, 0, 0, 1, 1}) pads->add_ints(v);
    auto* value = n.add_attribute();
    value->set_name("value");
    value->set_type(onnx::AttributeProto::FLOAT);
    value->set_f(0.5f);
  }
  const Graph g = onnx_bytes_to_graph(old.SerializeAsString(), "old.onnx");
  for (const Node& n : g.nodes)
    if (n.op == Op::kPad) {
      EXPECT_EQ(n.attrs.pad_amounts, (std::vector<int64_t>{0, 0, 1, 1, 0, 0, 1, 1}));
      EXPECT_EQ(n.attrs.pad_value, 0.5f);
    }
  for (auto& n : *m.mutable_graph()->mutable_node())
    if (n.op_type() == "Pad") n.set_input(1, "x");
  EXPECT_EQ(error_of([&] { onnx_bytes_to_graph(m.SerializeAsString(), "m.onnx"); }),
            "m.onnx: node 'pad' (Pad): pads input 'x' must be a constant");
}

class ConcatPadOrt : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(ort_available()) << ort_unavailable_reason(); }
  testing::TempDir dir_;
  std::mt19937 rng_{3};
};

TEST_F(ConcatPadOrt, Fp32EngineMatchesOnnxRuntime) {
  const Tensor x = random_tensor(rng_, {3, 2, 6, 6}, -2.0f, 2.0f);
  for (const GraphCase& c : graph_cases()) {
    SCOPED_TRACE(c.label);
    const Graph g = pad_concat_graph(c.mode, c.pads, c.value, c.axis);
    const std::string path = dir_.file(c.label + ".onnx");
    save_onnx(g, path);
    const double diff = max_abs_diff(Fp32Engine(g).run(x)[0], run_ort(path, x));
    std::printf("[ ORT ] fp32 %s: max |diff| = %.3g\n", c.label.c_str(), diff);
    EXPECT_LE(diff, 1e-5);
  }
}

// Scale of the QuantizeLinear whose DequantizeLinear feeds value v.
float scale_into(const Graph& q, const std::string& v) {
  for (const Node& n : q.nodes)
    if (n.op == Op::kDequantizeLinear && n.outputs[0] == v) return q.initializer(n.inputs[1])->f[0];
  throw Error("'" + v + "' is not a DequantizeLinear output");
}

TEST_F(ConcatPadOrt, QuantizedGraphInIntegerEngineMatchesOnnxRuntime) {
  const Tensor calib_x = random_tensor(rng_, {32, 2, 6, 6}, -2.0f, 2.0f);
  Tensor x = calib_x;  // images seen in calibration: no range clipping, so float_diff is rounding only
  x.shape[0] = 4;
  x.f.resize(size_t(num_elements(x.shape)));
  for (const GraphCase& c : graph_cases()) {
    SCOPED_TRACE(c.label);
    const Graph g = pad_concat_graph(c.mode, c.pads, c.value, c.axis);
    const QuantizeResult res = quantize(Calibration(g, calib_x), preset_recipe("tflite-int8"));
    const Graph& q = res.model.graph;
    // Pad and Concat read dequantized values; the convolutions around them are integer.
    for (const Node& n : q.nodes)
      if (n.op == Op::kPad || n.op == Op::kConcat)
        for (const auto& in : n.inputs) EXPECT_EQ(q.nodes[size_t(q.producer(in))].op, Op::kDequantizeLinear);
    const std::string path = dir_.file(c.label + "_qdq.onnx");
    save_onnx(q, path);
    const Tensor ours = IntEngine(q).run(x)[0];
    const Tensor theirs = run_ort(path, x);
    double step = 0;
    for (const Node& n : q.nodes)
      if (n.op == Op::kConcat)
        for (const auto& in : n.inputs) step = std::max(step, double(scale_into(q, in)));
    const double diff = max_abs_diff(ours, theirs);
    const double float_diff = max_abs_diff(ours, Fp32Engine(g).run(x)[0]);
    std::printf("[ ORT ] int8 %s: max |diff| vs ORT QDQ = %.3g (%.2f steps), vs float = %.3g (%.2f steps)\n",
                c.label.c_str(), diff, diff / step, float_diff, float_diff / step);
    EXPECT_LE(diff, 1 * step + 1e-6);
    EXPECT_LE(float_diff, 3 * step);
    // The C export has no float steps: it refuses, naming the op.
    const std::string e = error_of([&] { export_c::build_program(q, export_c::Target::kGeneric); });
    EXPECT_NE(e.find("runs in float"), std::string::npos) << e;
  }
}

// A spatial zero Pad before a Conv (Keras ZeroPadding2D → Conv) is folded into the Conv's pads when
// quantizing: no Pad and no float step remain.
TEST_F(ConcatPadOrt, ZeroPadBeforeConvQuantizesToIntegerOnly) {
  Graph g = pad_concat_graph(PadMode::kConstant, {0, 0, 1, 0, 0, 0, 2, 1}, 0.0f, 1);
  g.nodes.pop_back();  // drop the Concat: y = conv_a
  g.nodes.pop_back();  // and conv_b
  g.nodes.back().outputs = {"y"};
  g.validate_and_sort();
  const Tensor calib_x = random_tensor(rng_, {16, 2, 6, 6}, -2.0f, 2.0f);
  const Graph q = quantize(Calibration(g, calib_x), preset_recipe("tflite-int8")).model.graph;
  for (const Node& n : q.nodes) EXPECT_NE(n.op, Op::kPad);
  EXPECT_EQ(IntEngine(q).float_op_count(), 0) << IntEngine(q).describe();
  const std::string path = dir_.file("padconv_qdq.onnx");
  save_onnx(q, path);
  EXPECT_LE(max_abs_diff(IntEngine(q).run(calib_x)[0], run_ort(path, calib_x)), scale_into(q, "y") + 1e-6);
}

TEST(ConcatPadEngines, ConcatAlongTheBatchAxis) {
  std::mt19937 rng_{3};
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {2, 3}});
  g.initializers["k"] = random_tensor(rng_, {1, 3}, -1, 1);
  Node cat{Op::kConcat, "cat", {"x", "k", "x"}, {"y"}, {}};
  cat.attrs.axis = 0;
  g.nodes = {cat};
  g.outputs.push_back({"y", DType::kFloat32, {}});
  g.validate_and_sort();
  const Tensor x = random_tensor(rng_, {2, 3}, -1, 1);
  const Tensor y = Fp32Engine(g).run(x)[0];
  ASSERT_EQ(y.shape, (Shape{5, 3}));
  std::vector<float> want = x.f;
  want.insert(want.end(), g.initializers["k"].f.begin(), g.initializers["k"].f.end());
  want.insert(want.end(), x.f.begin(), x.f.end());
  EXPECT_EQ(y.f, want);
  const std::string e = error_of([&] { IntEngine(g).run(x); });
  EXPECT_NE(e.find("does not keep the batch on axis 0"), std::string::npos) << e;
}

}  // namespace
}  // namespace tinyptq
