// The FP32 engine against ONNX Runtime (the oracle) on small random graphs built with the IR and exported
// with save_onnx: a residual CNN with an NHWC input (Transpose), the pooling variants, MatMul/Clip/broadcast
// ops, Q/DQ simulation. Outputs must agree within 1e-5. ONNX Runtime comes from scripts/install_ort.sh (run
// by scripts/setup.sh); this test fails, never skips, when it is missing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "engine/fp32_engine.h"
#include "onnx/onnx_writer.h"
#include "ort/ort_runner.h"
#include "test_util.h"

namespace tinyptq {
namespace {

constexpr double kTolerance = 1e-5;

Tensor random_tensor(std::mt19937& rng, const Shape& shape, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(num_elements(shape));
  for (auto& x : v) x = dist(rng);
  return Tensor::from_floats(shape, std::move(v));
}

Node make_node(Op op, const std::string& name, std::vector<std::string> in, const std::string& out,
               Attrs attrs = {}) {
  return Node{op, name, std::move(in), {out}, std::move(attrs)};
}

Attrs window(std::vector<int64_t> kernel, std::vector<int64_t> strides, std::vector<int64_t> pads) {
  Attrs a;
  a.kernel_shape = std::move(kernel);
  a.strides = std::move(strides);
  a.pads = std::move(pads);
  return a;
}

class OrtOracle : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ort_available())
        << ort_unavailable_reason()
        << "\nRun `bash scripts/install_ort.sh` (scripts/setup.sh does it) and retry.";
  }

  // Saves the graph, runs it in both engines on `input` and compares the first output.
  void expect_agreement(const Graph& graph, const Tensor& input, const std::string& label) {
    SCOPED_TRACE(label);
    const std::string path = dir_.file(label + ".onnx");
    save_onnx(graph, path);
    Fp32Engine engine(graph);
    const Tensor ours = engine.run(input)[0];
    const Tensor theirs = run_ort(path, input);
    ASSERT_EQ(ours.shape, theirs.shape);
    double worst = 0;
    int64_t worst_at = -1;
    for (size_t i = 0; i < ours.f.size(); ++i) {
      const double diff =
          std::abs(double(ours.f[i]) - double(theirs.f[i])) / std::max(1.0, std::abs(double(theirs.f[i])));
      if (!(diff <= worst)) worst = diff, worst_at = int64_t(i);
    }
    EXPECT_LE(worst, kTolerance) << "worst difference at " << worst_at << ": ours " << ours.f[worst_at]
                                 << ", ONNX Runtime " << theirs.f[worst_at];
    RecordProperty(label + "_max_diff", std::to_string(worst));
    std::printf("[ %s ] %s: max |diff| (relative past 1) = %.3g over %zu values\n", "ORT", label.c_str(),
                worst, ours.f.size());
  }

  testing::TempDir dir_;
  std::mt19937 rng_{2024};
};

// NHWC input → Transpose → [Conv+BN+Relu] → residual block (3×3 stride 2 + 1×1 stride 2 shortcut, Add, Relu)
// → AveragePool → GlobalAveragePool → Flatten → Gemm → (Softmax when `softmax`).
Graph residual_cnn(std::mt19937& rng, bool softmax) {
  Graph g;
  g.inputs = {{"image", DType::kFloat32, {-1, 16, 16, 3}}};
  auto add_conv = [&](const std::string& name, const std::string& in, int64_t cin, int64_t cout, int64_t k,
                      int64_t stride, std::vector<int64_t> pads, bool bn) {
    const float bound = std::sqrt(6.0f / float(cin * k * k));
    g.initializers[name + "_w"] = random_tensor(rng, {cout, cin, k, k}, -bound, bound);
    g.initializers[name + "_b"] = random_tensor(rng, {cout}, -0.1f, 0.1f);
    g.nodes.push_back(make_node(Op::kConv, name, {in, name + "_w", name + "_b"}, name + "_out",
                                window({k, k}, {stride, stride}, std::move(pads))));
    if (!bn) return name + "_out";
    g.initializers[name + "_bn_s"] = random_tensor(rng, {cout}, 0.5f, 1.5f);
    g.initializers[name + "_bn_b"] = random_tensor(rng, {cout}, -0.2f, 0.2f);
    g.initializers[name + "_bn_m"] = random_tensor(rng, {cout}, -0.2f, 0.2f);
    g.initializers[name + "_bn_v"] = random_tensor(rng, {cout}, 0.5f, 1.5f);
    g.nodes.push_back(make_node(
        Op::kBatchNormalization, name + "_bn",
        {name + "_out", name + "_bn_s", name + "_bn_b", name + "_bn_m", name + "_bn_v"}, name + "_bn_out"));
    return name + "_bn_out";
  };
  Attrs nchw;
  nchw.perm = {0, 3, 1, 2};
  g.nodes.push_back(make_node(Op::kTranspose, "to_nchw", {"image"}, "x", nchw));
  const std::string c1 = add_conv("conv1", "x", 3, 8, 3, 1, {1, 1, 1, 1}, true);
  g.nodes.push_back(make_node(Op::kRelu, "relu1", {c1}, "r1"));
  const std::string c2 = add_conv("conv2", "r1", 8, 12, 3, 2, {0, 0, 1, 1}, true);  // asymmetric (TF SAME)
  g.nodes.push_back(make_node(Op::kRelu, "relu2", {c2}, "r2"));
  const std::string c3 = add_conv("conv3", "r2", 12, 12, 3, 1, {1, 1, 1, 1}, true);
  const std::string sc = add_conv("shortcut", "r1", 8, 12, 1, 2, {0, 0, 0, 0}, false);
  g.nodes.push_back(make_node(Op::kAdd, "add", {c3, sc}, "sum"));
  g.nodes.push_back(make_node(Op::kRelu, "relu3", {"sum"}, "r3"));
  Attrs avg = window({2, 2}, {2, 2}, {0, 0, 0, 0});
  g.nodes.push_back(make_node(Op::kAveragePool, "avgpool", {"r3"}, "ap", avg));
  g.nodes.push_back(make_node(Op::kGlobalAveragePool, "gap", {"ap"}, "gp"));
  g.nodes.push_back(make_node(Op::kFlatten, "flatten", {"gp"}, "flat"));
  g.initializers["fc_w"] = random_tensor(rng, {10, 12}, -0.7f, 0.7f);
  g.initializers["fc_b"] = random_tensor(rng, {10}, -0.1f, 0.1f);
  Attrs gemm;
  gemm.trans_b = true;
  g.nodes.push_back(make_node(Op::kGemm, "fc", {"flat", "fc_w", "fc_b"}, "logits", gemm));
  if (softmax) {
    Attrs sm;
    sm.axis = -1;
    g.nodes.push_back(make_node(Op::kSoftmax, "softmax", {"logits"}, "prob", sm));
  }
  g.outputs = {{softmax ? "prob" : "logits", DType::kFloat32, {}}};
  return g;
}

TEST_F(OrtOracle, ResidualCnnWithNhwcInput) {
  std::mt19937 rng_a(7), rng_b(7);  // the same weights in both graphs
  const Graph logits = residual_cnn(rng_a, false);
  const Tensor x = random_tensor(rng_, {5, 16, 16, 3}, 0.0f, 1.0f);
  expect_agreement(logits, x, "residual_logits");
  const Graph prob = residual_cnn(rng_b, true);
  expect_agreement(prob, x, "residual_softmax");
  expect_agreement(prob, random_tensor(rng_, {1, 16, 16, 3}, -2.0f, 2.0f), "residual_softmax_batch1");
}

// One pooling (or strided conv) node on an NCHW input, output straight out.
Graph single_window_op(std::mt19937& rng, Op op, const Attrs& attrs, int64_t channels = 4,
                       int64_t group = 1) {
  Graph g;
  g.inputs = {{"x", DType::kFloat32, {-1, channels, 9, 10}}};
  std::vector<std::string> in{"x"};
  if (op == Op::kConv) {
    g.initializers["w"] =
        random_tensor(rng, {6, channels / group, attrs.kernel_shape[0], attrs.kernel_shape[1]});
    g.initializers["b"] = random_tensor(rng, {6});
    in = {"x", "w", "b"};
  }
  Attrs a = attrs;
  a.group = group;
  g.nodes = {make_node(op, "op", in, "y", a)};
  g.outputs = {{"y", DType::kFloat32, {}}};
  return g;
}

TEST_F(OrtOracle, PoolingVariants) {
  const Tensor x = random_tensor(rng_, {3, 4, 9, 10}, -3.0f, 3.0f);
  struct Case {
    const char* label;
    Op op;
    Attrs attrs;
  };
  std::vector<Case> cases;
  auto add = [&](const char* label, Op op, Attrs a, bool include_pad = false, bool ceil_mode = false,
                 AutoPad auto_pad = AutoPad::kNotSet) {
    a.count_include_pad = include_pad;
    a.ceil_mode = ceil_mode;
    a.auto_pad = auto_pad;
    cases.push_back({label, op, a});
  };
  add("avg_k3s2_pad1_include", Op::kAveragePool, window({3, 3}, {2, 2}, {1, 1, 1, 1}), true);
  add("avg_k3s2_pad1_exclude", Op::kAveragePool, window({3, 3}, {2, 2}, {1, 1, 1, 1}), false);
  add("avg_k3s2_asym_exclude_ceil", Op::kAveragePool, window({3, 3}, {2, 2}, {1, 0, 0, 1}), false, true);
  add("avg_k2s2_include_ceil", Op::kAveragePool, window({2, 2}, {2, 2}, {0, 0, 0, 0}), true, true);
  add("avg_k3s2_pad1_include_ceil", Op::kAveragePool, window({3, 3}, {2, 2}, {1, 1, 1, 1}), true, true);
  // Ceil mode would add a last window starting past the input (W: 10 + 1 pad, k 2, s 2): it is dropped.
  add("avg_ceil_drops_window", Op::kAveragePool, window({2, 2}, {2, 2}, {0, 0, 0, 1}), true, true);
  add("max_ceil_drops_window", Op::kMaxPool, window({2, 2}, {2, 2}, {0, 0, 0, 1}), false, true);
  add("avg_same_upper", Op::kAveragePool, window({3, 3}, {2, 2}, {}), false, false, AutoPad::kSameUpper);
  add("max_k3s2_pad1_ceil", Op::kMaxPool, window({3, 3}, {2, 2}, {1, 1, 1, 1}), false, true);
  add("max_k2s2", Op::kMaxPool, window({2, 2}, {2, 2}, {0, 0, 0, 0}));
  add("max_same_lower", Op::kMaxPool, window({3, 2}, {2, 3}, {}), false, false, AutoPad::kSameLower);
  Attrs dilated = window({2, 2}, {1, 1}, {0, 0, 0, 0});
  dilated.dilations = {2, 2};
  add("max_dilated", Op::kMaxPool, dilated);
  for (const Case& c : cases) expect_agreement(single_window_op(rng_, c.op, c.attrs), x, c.label);
}

TEST_F(OrtOracle, ConvVariants) {
  const Tensor x = random_tensor(rng_, {2, 4, 9, 10});
  Attrs same = window({3, 3}, {2, 2}, {});
  same.auto_pad = AutoPad::kSameUpper;
  expect_agreement(single_window_op(rng_, Op::kConv, same), x, "conv_same_upper_s2");
  Attrs lower = window({3, 3}, {2, 2}, {});
  lower.auto_pad = AutoPad::kSameLower;
  expect_agreement(single_window_op(rng_, Op::kConv, lower, 4, 2), x, "conv_same_lower_group2");
  Attrs dilated = window({3, 3}, {1, 2}, {2, 1, 0, 2});
  dilated.dilations = {2, 1};
  expect_agreement(single_window_op(rng_, Op::kConv, dilated), x, "conv_dilated_asym");
  expect_agreement(single_window_op(rng_, Op::kConv, window({1, 1}, {2, 2}, {0, 0, 0, 0}), 4, 2), x,
                   "conv_1x1_s2_group2");
}

TEST_F(OrtOracle, MatMulClipBroadcastReshapeSoftmax) {
  Graph g;
  g.inputs = {{"x", DType::kFloat32, {-1, 6}}};
  g.initializers["w"] = random_tensor(rng_, {6, 8});
  g.initializers["b"] = random_tensor(rng_, {8});
  g.initializers["s"] = random_tensor(rng_, {8}, 0.5f, 2.0f);
  g.initializers["c"] = random_tensor(rng_, {1});
  g.initializers["shape"] = Tensor::from_ints(DType::kInt64, {3}, {0, 2, -1});
  Attrs clip;
  clip.clip_min = 0.0f;
  clip.clip_max = 1.0f;
  Attrs sm;
  sm.axis = 1;
  g.nodes = {
      make_node(Op::kMatMul, "matmul", {"x", "w"}, "mm"),
      make_node(Op::kAdd, "bias", {"mm", "b"}, "biased"),
      make_node(Op::kClip, "clip", {"biased"}, "clipped", clip),
      make_node(Op::kMul, "scale", {"clipped", "s"}, "scaled"),
      make_node(Op::kSub, "shift", {"scaled", "c"}, "shifted"),
      make_node(Op::kReshape, "reshape", {"shifted", "shape"}, "r"),
      make_node(Op::kSoftmax, "softmax", {"r"}, "y", sm),
  };
  g.outputs = {{"y", DType::kFloat32, {}}};
  expect_agreement(g, random_tensor(rng_, {4, 6}, -2.0f, 2.0f), "matmul_clip_softmax_axis1");
}

TEST_F(OrtOracle, QdqSimulation) {
  // x → Q (uint8) → DQ → Conv(DQ(int8 per-channel weights)) → Relu → Q (int8) → DQ.
  Graph g;
  g.inputs = {{"x", DType::kFloat32, {-1, 3, 8, 8}}};
  g.initializers["xs"] = Tensor::from_floats({}, {1.0f / 64});
  g.initializers["xz"] = Tensor::from_ints(DType::kUint8, {}, {128});
  std::vector<int64_t> wq(4 * 3 * 3 * 3);
  std::uniform_int_distribution<int> qd(-127, 127);
  for (auto& v : wq) v = qd(rng_);
  g.initializers["wq"] = Tensor::from_ints(DType::kInt8, {4, 3, 3, 3}, wq);
  g.initializers["ws"] = Tensor::from_floats({4}, {0.004f, 0.002f, 0.003f, 0.005f});
  g.initializers["wz"] = Tensor::from_ints(DType::kInt8, {4}, {0, 0, 0, 0});
  g.initializers["b"] = random_tensor(rng_, {4}, -0.1f, 0.1f);
  g.initializers["ys"] = Tensor::from_floats({}, {0.02f});
  g.initializers["yz"] = Tensor::from_ints(DType::kInt8, {}, {-100});
  Attrs axis0;
  axis0.axis = 0;
  g.nodes = {
      make_node(Op::kQuantizeLinear, "xq", {"x", "xs", "xz"}, "xq_out"),
      make_node(Op::kDequantizeLinear, "xdq", {"xq_out", "xs", "xz"}, "xd"),
      make_node(Op::kDequantizeLinear, "wdq", {"wq", "ws", "wz"}, "w", axis0),
      make_node(Op::kConv, "conv", {"xd", "w", "b"}, "c", window({3, 3}, {1, 1}, {1, 1, 1, 1})),
      make_node(Op::kRelu, "relu", {"c"}, "r"),
      make_node(Op::kQuantizeLinear, "yq", {"r", "ys", "yz"}, "yq_out"),
      make_node(Op::kDequantizeLinear, "ydq", {"yq_out", "ys", "yz"}, "y"),
  };
  g.outputs = {{"y", DType::kFloat32, {}}};
  expect_agreement(g, random_tensor(rng_, {2, 3, 8, 8}, -1.5f, 1.5f), "qdq_conv");
}

TEST_F(OrtOracle, RunnerReportsFailures) {
  const std::string bad = dir_.file("bad.onnx");
  testing::write_bytes(bad, "not an onnx model");
  try {
    run_ort(bad, Tensor::zeros({1, 3}));
    FAIL() << "run_ort accepted a corrupt model";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.onnx"), std::string::npos) << e.what();
  }
  EXPECT_THROW(run_ort(dir_.file("missing.onnx"), Tensor::zeros({1, 3})), Error);
}

}  // namespace
}  // namespace tinyptq
