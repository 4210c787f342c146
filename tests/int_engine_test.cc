// IntEngine on hand-built QDQ graphs (IR built directly): agreement with the float simulation of the same
// graph (Fp32Engine runs Q/DQ as fake quantization), int8 vs uint8 activations, per-tensor vs per-channel
// weights, thread count and batch independence, describe(), and rejection of bad inputs.
#include "engine/int_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "engine/fp32_engine.h"
#include "kernels/int8/kernel_table.h"

namespace tinyptq {
namespace {

struct Range {
  float min = 0, max = 0;
};

// How the test model is quantized.
struct ModelOptions {
  DType act_type = DType::kUint8;
  bool per_channel = true;
  DType weight_type = DType::kInt8;        // kInt8: symmetric (zp 0); kUint8: asymmetric (zp ≠ 0)
  bool nhwc_input = true;                  // [N,8,8,3] + Transpose, else [N,3,8,8]
  bool quantize_before_transpose = false;  // ORT style: input → Q → DQ → Transpose → Q → DQ
  bool matmul_head = false;                // MatMul + Add(float bias) instead of Gemm
  bool relu6 = false;                      // Clip(0, 6) instead of the first Relu
};

// Builds the test network, float (ranges == nullptr) or QDQ with activation params from `ranges`:
//   [Transpose] → conv1 3x3 (3→8) + Relu → conv2 3x3 (8→8) → Add(conv1, conv2) + Relu → AveragePool 2x2/2
//   → depthwise conv3 3x3/2 asymmetric pads + Relu → MaxPool 2x2/1 → GlobalAveragePool → Flatten
//   → Gemm (8→10) → Softmax.
class ModelBuilder {
 public:
  ModelBuilder(const ModelOptions& o, const std::map<std::string, Range>* ranges) : o_(o), ranges_(ranges) {}

  Graph build() {
    std::mt19937 rng(42);
    Shape in_shape = o_.nhwc_input ? Shape{-1, 8, 8, 3} : Shape{-1, 3, 8, 8};
    g_.inputs.push_back({"image", DType::kFloat32, in_shape});
    std::string x = "image";
    if (o_.nhwc_input) {
      if (o_.quantize_before_transpose) x = act(x);
      Attrs a;
      a.perm = {0, 3, 1, 2};
      x = node(Op::kTranspose, {x}, "image_nchw", a);
    }
    x = act(x);
    const std::string c1 = act(relu(conv("conv1", x, 3, 8, 3, 1, {1, 1, 1, 1}, 1, rng), o_.relu6));
    const std::string c2 = act(conv("conv2", c1, 8, 8, 3, 1, {1, 1, 1, 1}, 1, rng));
    std::string y = act(relu(node(Op::kAdd, {c1, c2}, "add"), false));
    Attrs pool;
    pool.kernel_shape = {2, 2};
    pool.strides = {2, 2};
    y = act(node(Op::kAveragePool, {y}, "avgpool", pool));
    y = act(relu(conv("conv3", y, 8, 8, 3, 2, {0, 0, 1, 1}, 8, rng), false));
    Attrs maxpool;
    maxpool.kernel_shape = {2, 2};
    y = act(node(Op::kMaxPool, {y}, "maxpool", maxpool), "conv3_relu");  // same params as its input (ORT)
    y = act(node(Op::kGlobalAveragePool, {y}, "gap"));
    y = act(node(Op::kFlatten, {y}, "flatten"), "gap");
    y = act(o_.matmul_head ? matmul("fc", y, 8, 10, rng) : gemm("fc", y, 8, 10, rng));
    Attrs softmax;
    softmax.axis = -1;
    node(Op::kSoftmax, {y}, "probs", softmax);
    g_.outputs.push_back({"probs", DType::kFloat32, {-1, 10}});
    g_.validate_and_sort();
    return g_;
  }

 private:
  bool qdq() const { return ranges_ != nullptr; }

  std::string node(Op op, std::vector<std::string> inputs, const std::string& out, Attrs attrs = {}) {
    Node n;
    n.op = op;
    n.name = out;
    n.inputs = std::move(inputs);
    n.outputs = {out};
    n.attrs = std::move(attrs);
    g_.nodes.push_back(std::move(n));
    return out;
  }

  std::string relu(const std::string& x, bool relu6) {
    if (!relu6) return node(Op::kRelu, {x}, x + "_relu");
    Attrs a;
    a.clip_min = 0, a.clip_max = 6;
    return node(Op::kClip, {x}, x + "_relu", a);
  }

  void scalar_params(const std::string& base, float scale, int64_t zp, DType type) {
    g_.initializers[base + "_scale"] = Tensor::from_floats({}, {scale});
    g_.initializers[base + "_zp"] = Tensor::from_ints(type, {}, {zp});
  }

  // Activation v → Q → DQ with params from the calibrated range of `range_of` (default v itself).
  std::string act(const std::string& v, const std::string& range_of = "") {
    if (!qdq()) return v;
    const Range r = ranges_->at(range_of.empty() ? v : range_of);
    const float lo = std::min(r.min, 0.0f), hi = std::max(r.max, 0.0f);
    const float scale = std::max(hi - lo, 1e-6f) / 255.0f;
    int64_t zp = int64_t(std::nearbyint(-lo / scale));
    zp = std::clamp<int64_t>(zp, 0, 255);
    if (o_.act_type == DType::kInt8) zp -= 128;
    const std::string base = v + "_q";
    scalar_params(base, scale, zp, o_.act_type);
    node(Op::kQuantizeLinear, {v, base + "_scale", base + "_zp"}, v + "_quantized");
    return node(Op::kDequantizeLinear, {v + "_quantized", base + "_scale", base + "_zp"}, v + "_dq");
  }

  // Float weights of `shape` (channel axis `axis`); in QDQ mode quantized and put behind a DequantizeLinear.
  // Returns the weight value and the per-channel scales (for the bias).
  std::string weight(const std::string& name, const Shape& shape, int64_t axis, std::mt19937& rng,
                     std::vector<float>* scales) {
    std::normal_distribution<float> dist(0.0f, 0.4f);
    std::vector<float> w(num_elements(shape));
    for (auto& v : w) v = dist(rng);
    if (!qdq()) {
      g_.initializers[name] = Tensor::from_floats(shape, w);
      return name;
    }
    const int64_t channels = shape[axis];
    int64_t inner = 1;
    for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
    auto channel_of = [&](int64_t i) { return (i / inner) % channels; };
    const int64_t groups = o_.per_channel ? channels : 1;
    std::vector<float> lo(groups, 0.0f), hi(groups, 0.0f);
    for (int64_t i = 0; i < int64_t(w.size()); ++i) {
      const int64_t c = o_.per_channel ? channel_of(i) : 0;
      lo[c] = std::min(lo[c], w[i]), hi[c] = std::max(hi[c], w[i]);
    }
    std::vector<float> s(groups);
    std::vector<int64_t> zp(groups);
    for (int64_t c = 0; c < groups; ++c) {
      if (o_.weight_type == DType::kInt8) {
        s[c] = std::max(std::abs(lo[c]), std::abs(hi[c])) / 127.0f;
        zp[c] = 0;
      } else {
        s[c] = (hi[c] - lo[c]) / 255.0f;
        zp[c] = std::clamp<int64_t>(int64_t(std::nearbyint(-lo[c] / s[c])), 0, 255);
      }
    }
    const int64_t qmin = o_.weight_type == DType::kInt8 ? -127 : 0,
                  qmax = o_.weight_type == DType::kInt8 ? 127 : 255;
    std::vector<int64_t> q(w.size());
    for (int64_t i = 0; i < int64_t(w.size()); ++i) {
      const int64_t c = o_.per_channel ? channel_of(i) : 0;
      q[i] = std::clamp<int64_t>(int64_t(std::nearbyint(w[i] / s[c])) + zp[c], qmin, qmax);
    }
    g_.initializers[name + "_q"] = Tensor::from_ints(o_.weight_type, shape, q);
    const Shape param_shape = o_.per_channel ? Shape{channels} : Shape{};
    g_.initializers[name + "_scale"] = Tensor::from_floats(param_shape, s);
    g_.initializers[name + "_zp"] = Tensor::from_ints(o_.weight_type, param_shape, zp);
    Attrs a;
    a.axis = axis;
    node(Op::kDequantizeLinear, {name + "_q", name + "_scale", name + "_zp"}, name + "_dq", a);
    scales->assign(size_t(channels), 0.0f);
    for (int64_t c = 0; c < channels; ++c) (*scales)[c] = s[o_.per_channel ? c : 0];
    return name + "_dq";
  }

  // Bias as int32 at scale s_x·s_w[c] behind a DequantizeLinear (QDQ), or float.
  std::string bias(const std::string& name, const std::string& input_dq, int64_t channels, std::mt19937& rng,
                   const std::vector<float>& weight_scales, bool as_float = false) {
    std::normal_distribution<float> dist(0.0f, 0.2f);
    std::vector<float> b(channels);
    for (auto& v : b) v = dist(rng);
    if (!qdq() || as_float) {
      g_.initializers[name] = Tensor::from_floats({channels}, b);
      return name;
    }
    const float sx = g_.initializers.at(input_dq.substr(0, input_dq.size() - 3) + "_q_scale").f[0];
    std::vector<float> s(channels);
    std::vector<int64_t> q(channels), zero(channels, 0);
    for (int64_t c = 0; c < channels; ++c) {
      s[c] = sx * weight_scales[c];
      q[c] = int64_t(std::nearbyint(b[c] / s[c]));
    }
    g_.initializers[name + "_q"] = Tensor::from_ints(DType::kInt32, {channels}, q);
    g_.initializers[name + "_scale"] = Tensor::from_floats({channels}, s);
    g_.initializers[name + "_zp"] = Tensor::from_ints(DType::kInt32, {channels}, zero);
    Attrs a;
    a.axis = 0;
    return node(Op::kDequantizeLinear, {name + "_q", name + "_scale", name + "_zp"}, name + "_dq", a);
  }

  std::string conv(const std::string& name, const std::string& x, int64_t in_c, int64_t out_c, int64_t k,
                   int64_t stride, std::vector<int64_t> pads, int64_t group, std::mt19937& rng) {
    std::vector<float> scales;
    const std::string w = weight(name + "_w", {out_c, in_c / group, k, k}, 0, rng, &scales);
    const std::string b = bias(name + "_b", x, out_c, rng, scales);
    Attrs a;
    a.kernel_shape = {k, k};
    a.strides = {stride, stride};
    a.pads = std::move(pads);
    a.group = group;
    return node(Op::kConv, {x, w, b}, name, a);
  }

  std::string gemm(const std::string& name, const std::string& x, int64_t k, int64_t n, std::mt19937& rng) {
    std::vector<float> scales;
    const std::string w = weight(name + "_w", {n, k}, 0, rng, &scales);
    const std::string b = bias(name + "_b", x, n, rng, scales);
    Attrs a;
    a.trans_b = true;
    return node(Op::kGemm, {x, w, b}, name, a);
  }

  std::string matmul(const std::string& name, const std::string& x, int64_t k, int64_t n, std::mt19937& rng) {
    std::vector<float> scales;
    const std::string w = weight(name + "_w", {k, n}, 1, rng, &scales);
    const std::string b = bias(name + "_b", x, n, rng, scales, /*as_float=*/true);
    node(Op::kMatMul, {x, w}, name + "_mm");
    return node(Op::kAdd, {name + "_mm", b}, name);
  }

  ModelOptions o_;
  const std::map<std::string, Range>* ranges_;
  Graph g_;
};

Tensor random_images(int64_t n, bool nhwc, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Tensor t = Tensor::zeros(nhwc ? Shape{n, 8, 8, 3} : Shape{n, 3, 8, 8});
  for (auto& v : t.f) v = dist(rng);
  return t;
}

// The QDQ model calibrated on random images with the float model.
Graph qdq_model(const ModelOptions& o) {
  Graph float_model = ModelBuilder(o, nullptr).build();
  std::map<std::string, Range> ranges;
  Fp32Engine fp32(float_model);
  fp32.run(random_images(32, o.nhwc_input, 7), [&](const std::string& name, const Tensor& t) {
    if (t.dtype != DType::kFloat32 || t.f.empty()) return;
    auto [lo, hi] = std::minmax_element(t.f.begin(), t.f.end());
    ranges[name] = {*lo, *hi};
  });
  return ModelBuilder(o, &ranges).build();
}

int argmax(const Tensor& t, int64_t row) {
  const int64_t n = t.shape[1];
  return int(std::max_element(t.f.begin() + row * n, t.f.begin() + (row + 1) * n) - (t.f.begin() + row * n));
}

// IntEngine vs the float simulation (Fp32Engine on the same QDQ graph) on 64 images.
void expect_matches_float_simulation(const ModelOptions& o) {
  const Graph g = qdq_model(o);
  IntEngine engine(g);
  Fp32Engine simulation(g);
  const Tensor x = random_images(64, o.nhwc_input, 99);
  const Tensor got = engine.run(x).at(0);
  const Tensor want = simulation.run(x).at(0);
  ASSERT_EQ(got.shape, want.shape);
  int same_top1 = 0;
  size_t exact = 0;
  float max_diff = 0;
  for (int64_t i = 0; i < x.shape[0]; ++i) same_top1 += argmax(got, i) == argmax(want, i);
  for (size_t i = 0; i < got.f.size(); ++i) {
    max_diff = std::max(max_diff, std::abs(got.f[i] - want.f[i]));
    exact += got.f[i] == want.f[i];
  }
  // Integer and float arithmetic may round a few intermediate values to the neighbouring code; most
  // probabilities come out bit-identical.
  EXPECT_GE(same_top1, 63) << "top-1 agreement with the float simulation";
  EXPECT_LT(max_diff, 0.05f);
  EXPECT_GE(exact * 10, got.f.size() * 9) << "bit-identical probabilities";
  EXPECT_EQ(engine.float_op_count(), 1) << engine.describe();  // Softmax
}

TEST(IntEngine, MatchesFloatSimulationPerChannel) { expect_matches_float_simulation({}); }

TEST(IntEngine, MatchesFloatSimulationPerTensor) {
  ModelOptions o;
  o.per_channel = false;
  expect_matches_float_simulation(o);
}

TEST(IntEngine, MatchesFloatSimulationAsymmetricUint8Weights) {
  ModelOptions o;
  o.weight_type = DType::kUint8;
  o.per_channel = false;
  expect_matches_float_simulation(o);
}

TEST(IntEngine, MatchesFloatSimulationInt8ActivationsNchwInputMatMulRelu6) {
  ModelOptions o;
  o.act_type = DType::kInt8;
  o.nhwc_input = false;
  o.matmul_head = true;
  o.relu6 = true;
  expect_matches_float_simulation(o);
}

TEST(IntEngine, DescribeShowsEveryComputeOpAsInteger) {
  const Graph g = qdq_model({});
  IntEngine engine(g);
  const std::string d = engine.describe();
  // quantize, conv1, conv2, add, avgpool, conv3, maxpool, gap, gemm, dequantize.
  EXPECT_EQ(engine.integer_op_count(), 10) << d;
  EXPECT_EQ(engine.float_op_count(), 1) << d;
  for (const char* node :
       {"conv1+conv1_relu", "conv2", "add+add_relu", "avgpool", "conv3+conv3_relu", "maxpool", "gap", "fc"}) {
    const size_t at = d.find(std::string(node) + "+");
    ASSERT_NE(at, std::string::npos) << node << " missing in\n" << d;
    const size_t line = d.rfind('\n', at) + 1;
    EXPECT_EQ(d.substr(line + 4, 3), "int") << d.substr(line, at - line + 20);
  }
  EXPECT_NE(d.find("float  fp32_ref::Softmax"), std::string::npos) << d;
}

TEST(IntEngine, Int8AndUint8ActivationsGiveIdenticalResults) {
  ModelOptions u8, s8;
  s8.act_type = DType::kInt8;
  for (bool ort_style : {false, true}) {
    u8.quantize_before_transpose = s8.quantize_before_transpose = ort_style;
    IntEngine a(qdq_model(u8)), b(qdq_model(s8));
    const Tensor x = random_images(9, true, 5);
    const Tensor ya = a.run(x).at(0), yb = b.run(x).at(0);
    EXPECT_EQ(ya.f, yb.f);
  }
}

TEST(IntEngine, QuantizeBeforeTransposeIsAView) {
  ModelOptions o;
  o.quantize_before_transpose = true;
  const Graph g = qdq_model(o);
  IntEngine engine(g);
  EXPECT_EQ(engine.integer_op_count(), 10) << engine.describe();  // the Transpose moves no data
  const Tensor x = random_images(16, true, 3);
  const Tensor got = engine.run(x).at(0), want = Fp32Engine(g).run(x).at(0);
  int same = 0;
  for (int64_t i = 0; i < 16; ++i) same += argmax(got, i) == argmax(want, i);
  EXPECT_GE(same, 15);
}

TEST(IntEngine, ThreadCountAndBatchingDoNotChangeResults) {
  const Graph g = qdq_model({});
  IntEngine one(g, {1}), two(g, {2}), three(g, {3});
  const Tensor x = random_images(7, true, 11);
  const Tensor y1 = one.run(x).at(0);
  EXPECT_EQ(two.run(x).at(0).f, y1.f);
  EXPECT_EQ(three.run(x).at(0).f, y1.f);
  // Image by image (rows split between threads when the batch is 1), and after the arena grew.
  for (int64_t i = 0; i < 7; ++i) {
    Tensor xi = Tensor::zeros({1, 8, 8, 3});
    std::copy(x.f.begin() + i * 192, x.f.begin() + (i + 1) * 192, xi.f.begin());
    const Tensor yi = two.run(xi).at(0);
    ASSERT_EQ(yi.shape, (Shape{1, 10}));
    EXPECT_TRUE(std::equal(yi.f.begin(), yi.f.end(), y1.f.begin() + i * 10)) << "image " << i;
  }
  EXPECT_EQ(two.run(Tensor::zeros({0, 8, 8, 3})).at(0).shape, (Shape{0, 10}));
}

TEST(IntEngine, QuantizedGraphOutputIsReturnedInItsType) {
  // image → Q(int8) → DQ → Relu-free Conv 1x1 → Q(int8) as the graph output.
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {-1, 2, 2, 2}});
  g.initializers["s"] = Tensor::from_floats({}, {0.5f});
  g.initializers["z"] = Tensor::from_ints(DType::kInt8, {}, {-3});
  g.initializers["w"] = Tensor::from_ints(DType::kInt8, {1, 2, 1, 1}, {2, -1});
  g.initializers["ws"] = Tensor::from_floats({}, {0.25f});
  g.initializers["wz"] = Tensor::from_ints(DType::kInt8, {}, {0});
  g.nodes.push_back({Op::kQuantizeLinear, "q", {"x", "s", "z"}, {"xq"}, {}});
  g.nodes.push_back({Op::kDequantizeLinear, "dq", {"xq", "s", "z"}, {"xd"}, {}});
  g.nodes.push_back({Op::kDequantizeLinear, "wdq", {"w", "ws", "wz"}, {"wd"}, {}});
  Attrs conv;
  conv.kernel_shape = {1, 1};
  g.nodes.push_back({Op::kConv, "conv", {"xd", "wd"}, {"y"}, conv});
  g.nodes.push_back({Op::kQuantizeLinear, "yq", {"y", "s", "z"}, {"out"}, {}});
  g.outputs.push_back({"out", DType::kInt8, {-1, 1, 2, 2}});
  g.validate_and_sort();
  IntEngine engine(g);
  Tensor x = Tensor::from_floats({1, 2, 2, 2}, {1.0f, 2.0f, -1.0f, 30.0f, 0.5f, 0.0f, -2.0f, -70.0f});
  const Tensor got = engine.run(x).at(0);
  const Tensor want = Fp32Engine(g).run(x).at(0);
  EXPECT_EQ(got.dtype, DType::kInt8);
  EXPECT_EQ(got.shape, want.shape);
  EXPECT_EQ(got.i, want.i);
  EXPECT_EQ(engine.float_op_count(), 0);
}

// Layout changes and the float path: x [N,3,4,5] (row-major, converted to NHWC) → conv 1x1 → Mul by a
// per-channel constant (float: back to row-major, dequantize, multiply, quantize) → Transpose(0,2,3,1) (a
// real transpose) → Flatten (a view) → Reshape with requantization → Gemm.
TEST(IntEngine, DataMovementAndFloatFallbackMatchFloatSimulation) {
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {-1, 3, 4, 5}});
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> wdist(-100, 100);
  auto params = [&](const std::string& base, float scale, int64_t zp) {
    g.initializers[base + "_s"] = Tensor::from_floats({}, {scale});
    g.initializers[base + "_z"] = Tensor::from_ints(DType::kUint8, {}, {zp});
  };
  auto qdq = [&](const std::string& v, const std::string& base) {
    g.nodes.push_back({Op::kQuantizeLinear, v + "_q", {v, base + "_s", base + "_z"}, {v + "_q"}, {}});
    g.nodes.push_back(
        {Op::kDequantizeLinear, v + "_dq", {v + "_q", base + "_s", base + "_z"}, {v + "_dq"}, {}});
    return v + "_dq";
  };
  auto weight = [&](const std::string& name, const Shape& shape) {
    std::vector<int64_t> w(num_elements(shape));
    for (auto& v : w) v = wdist(rng);
    g.initializers[name] = Tensor::from_ints(DType::kInt8, shape, w);
    params(name, 0.01f, 0);
    g.initializers[name + "_z"] = Tensor::from_ints(DType::kInt8, {}, {0});
    g.nodes.push_back(
        {Op::kDequantizeLinear, name + "_dq", {name, name + "_s", name + "_z"}, {name + "_dq"}, {}});
    return name + "_dq";
  };
  params("a", 0.02f, 120);
  params("b", 0.05f, 100);
  params("c", 0.07f, 90);
  std::string x = qdq("x", "a");
  Attrs conv;
  conv.kernel_shape = {1, 1};
  g.nodes.push_back({Op::kConv, "conv", {x, weight("w1", {6, 3, 1, 1})}, {"conv"}, conv});
  x = qdq("conv", "b");
  g.initializers["scale"] = Tensor::from_floats({1, 6, 1, 1}, {0.5f, -1.0f, 1.5f, 0.25f, 2.0f, -0.5f});
  g.nodes.push_back({Op::kMul, "mul", {x, "scale"}, {"mul"}, {}});
  x = qdq("mul", "b");
  Attrs transpose;
  transpose.perm = {0, 2, 3, 1};
  g.nodes.push_back({Op::kTranspose, "transpose", {x}, {"t"}, transpose});
  x = qdq("t", "b");
  g.nodes.push_back({Op::kFlatten, "flatten", {x}, {"f"}, {}});
  x = qdq("f", "b");
  g.initializers["shape"] = Tensor::from_ints(DType::kInt64, {2}, {0, -1});
  g.nodes.push_back({Op::kReshape, "reshape", {x, "shape"}, {"r"}, {}});
  x = qdq("r", "c");  // another scale: requantized
  Attrs gemm;
  gemm.trans_b = true;
  g.nodes.push_back({Op::kGemm, "fc", {x, weight("w2", {4, 120})}, {"fc"}, gemm});
  x = qdq("fc", "c");
  g.outputs.push_back({x, DType::kFloat32, {-1, 4}});
  g.validate_and_sort();

  IntEngine engine(g, {2});
  const std::string d = engine.describe();
  EXPECT_EQ(engine.float_op_count(), 1) << d;  // Mul
  EXPECT_NE(d.find("fp32_ref::Mul"), std::string::npos) << d;
  EXPECT_NE(d.find("requantize_u8_table_ref"), std::string::npos) << d;
  EXPECT_NE(d.find("layout permute"), std::string::npos) << d;
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  for (int64_t n : {1, 5}) {
    Tensor in = Tensor::zeros({n, 3, 4, 5});
    for (auto& v : in.f) v = dist(rng);
    const Tensor got = engine.run(in).at(0), want = Fp32Engine(g).run(in).at(0);
    ASSERT_EQ(got.shape, want.shape);
    int exact = 0;
    for (size_t i = 0; i < got.f.size(); ++i) {
      EXPECT_NEAR(got.f[i], want.f[i], 0.07f + 1e-6f) << "element " << i;  // at most one output code
      exact += got.f[i] == want.f[i];
    }
    EXPECT_GE(exact * 10, int(got.f.size()) * 9);
  }
}

TEST(IntEngine, RejectsBadInputs) {
  const Graph g = qdq_model({});
  IntEngine engine(g);
  EXPECT_THROW(engine.run(Tensor::zeros({2, 3, 8, 8})), Error);  // wrong layout
  EXPECT_THROW(engine.run(Tensor::from_ints(DType::kUint8, {1, 8, 8, 3}, std::vector<int64_t>(192, 0))),
               Error);
  EXPECT_THROW(IntEngine(g, {0}), Error);
}

TEST(IntEngine, RejectsGraphsMixingImages) {
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {-1, 4}});
  g.initializers["s"] = Tensor::from_floats({}, {0.1f});
  g.initializers["z"] = Tensor::from_ints(DType::kUint8, {}, {128});
  g.nodes.push_back({Op::kQuantizeLinear, "q", {"x", "s", "z"}, {"xq"}, {}});
  g.nodes.push_back({Op::kDequantizeLinear, "dq", {"xq", "s", "z"}, {"xd"}, {}});
  Attrs softmax;
  softmax.axis = 0;
  g.nodes.push_back({Op::kSoftmax, "softmax", {"xd"}, {"y"}, softmax});
  g.outputs.push_back({"y", DType::kFloat32, {-1, 4}});
  g.validate_and_sort();
  EXPECT_THROW(IntEngine{g}, Error);
  EXPECT_TRUE(is_qdq_graph(g));
  EXPECT_FALSE(is_qdq_graph(ModelBuilder({}, nullptr).build()));
}

}  // namespace
}  // namespace tinyptq

namespace tinyptq {
namespace {

// The depthwise conv3 runs on the table's depthwise kernel (AVX2 where the CPU has it), and every table
// gives the reference table's outputs bit for bit.
TEST(IntEngine, DepthwiseConvUsesTheDepthwiseKernelOfEveryTable) {
  const Graph g = qdq_model({});
  const Tensor x = random_images(11, true, 3);
  IntEngineOptions ref_opts;
  ref_opts.kernels = &int8::reference_kernels();
  const Tensor want = IntEngine(g, ref_opts).run(x).at(0);
  for (const int8::KernelTable* t : int8::available_kernels()) {
    IntEngineOptions o;
    o.kernels = t;
    IntEngine engine(g, o);
    const std::string d = engine.describe();
    const size_t at = d.find("conv3");
    ASSERT_NE(at, std::string::npos) << d;
    const std::string line = d.substr(d.rfind('\n', at) + 1, d.find('\n', at) - d.rfind('\n', at) - 1);
    EXPECT_NE(line.find(t->depthwise.name), std::string::npos) << t->isa << ": " << line;
    EXPECT_EQ(engine.run(x).at(0).f, want.f) << t->isa;
  }
}

}  // namespace
}  // namespace tinyptq
