// Shape inference and the FP32 engine on small graphs built here: shapes and node-named errors, pads
// resolution, engine output against the kernels composed by hand, batching, the tap, Q/DQ simulation.
#include "engine/fp32_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "engine/shape_inference.h"
#include "kernels/fp32/reference/conv2d.h"
#include "kernels/fp32/reference/gemm.h"
#include "kernels/fp32/reference/softmax.h"

namespace tinyptq {
namespace {

namespace ref = fp32_ref;

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

Attrs conv_attrs(int64_t k, int64_t stride, int64_t pad) {
  Attrs a;
  a.kernel_shape = {k, k};
  a.strides = {stride, stride};
  a.pads = {pad, pad, pad, pad};
  return a;
}

// x[N,3,8,8] → Conv 3→4 (3×3, pad 1) → BN → Relu → MaxPool 2×2 → Conv 4→4 (1×1) → Add(relu-pool skip)
// → GlobalAveragePool → Flatten → Gemm 4→5 → Softmax.
Graph small_cnn(std::mt19937& rng) {
  Graph g;
  g.inputs = {{"x", DType::kFloat32, {-1, 3, 8, 8}}};
  g.initializers["w1"] = random_tensor(rng, {4, 3, 3, 3});
  g.initializers["b1"] = random_tensor(rng, {4});
  g.initializers["bn_scale"] = random_tensor(rng, {4}, 0.5f, 1.5f);
  g.initializers["bn_bias"] = random_tensor(rng, {4});
  g.initializers["bn_mean"] = random_tensor(rng, {4});
  g.initializers["bn_var"] = random_tensor(rng, {4}, 0.5f, 2.0f);
  g.initializers["w2"] = random_tensor(rng, {4, 4, 1, 1});
  g.initializers["fc_w"] = random_tensor(rng, {5, 4});
  g.initializers["fc_b"] = random_tensor(rng, {5});
  Attrs pool;
  pool.kernel_shape = {2, 2};
  pool.strides = {2, 2};
  Attrs gemm;
  gemm.trans_b = true;
  Attrs softmax;
  softmax.axis = -1;
  g.nodes = {
      make_node(Op::kConv, "conv1", {"x", "w1", "b1"}, "c1", conv_attrs(3, 1, 1)),
      make_node(Op::kBatchNormalization, "bn1", {"c1", "bn_scale", "bn_bias", "bn_mean", "bn_var"}, "n1"),
      make_node(Op::kRelu, "relu1", {"n1"}, "r1"),
      make_node(Op::kMaxPool, "pool1", {"r1"}, "p1", pool),
      make_node(Op::kConv, "conv2", {"p1", "w2"}, "c2", conv_attrs(1, 1, 0)),
      make_node(Op::kAdd, "add1", {"c2", "p1"}, "a1"),
      make_node(Op::kGlobalAveragePool, "gap", {"a1"}, "g1"),
      make_node(Op::kFlatten, "flatten", {"g1"}, "f1"),
      make_node(Op::kGemm, "fc", {"f1", "fc_w", "fc_b"}, "logits", gemm),
      make_node(Op::kSoftmax, "softmax", {"logits"}, "prob", softmax),
  };
  g.outputs = {{"prob", DType::kFloat32, {}}};
  return g;
}

// Runs fn and returns the Error message ("" when nothing was thrown).
template <typename F>
std::string error_of(F fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_ERROR_HAS(stmt, ...)                                                                  \
  do {                                                                                               \
    const std::string msg_ = error_of([&] { stmt; });                                                \
    ASSERT_FALSE(msg_.empty()) << #stmt " did not throw";                                            \
    for (const char* part_ : {__VA_ARGS__})                                                          \
      EXPECT_NE(msg_.find(part_), std::string::npos) << "message: " << msg_ << "\nlacks: " << part_; \
  } while (0)

// ---------------------------------------------------------------------------------------------------
// Shape inference

TEST(ShapeInference, ShapesOfEveryValue) {
  std::mt19937 rng(1);
  const Graph g = small_cnn(rng);
  const auto shapes = infer_shapes(g, {3, 3, 8, 8});
  EXPECT_EQ(shapes.at("x"), (Shape{3, 3, 8, 8}));
  EXPECT_EQ(shapes.at("w1"), (Shape{4, 3, 3, 3}));
  EXPECT_EQ(shapes.at("c1"), (Shape{3, 4, 8, 8}));
  EXPECT_EQ(shapes.at("p1"), (Shape{3, 4, 4, 4}));
  EXPECT_EQ(shapes.at("a1"), (Shape{3, 4, 4, 4}));
  EXPECT_EQ(shapes.at("g1"), (Shape{3, 4, 1, 1}));
  EXPECT_EQ(shapes.at("f1"), (Shape{3, 4}));
  EXPECT_EQ(shapes.at("prob"), (Shape{3, 5}));
}

TEST(ShapeInference, ErrorsNameTheNode) {
  std::mt19937 rng(2);
  {
    Graph g = small_cnn(rng);
    g.initializers["w1"] = random_tensor(rng, {4, 2, 3, 3});
    EXPECT_ERROR_HAS(infer_shapes(g, {1, 3, 8, 8}), "node 'conv1' (Conv)", "channel mismatch");
  }
  {
    Graph g = small_cnn(rng);
    g.initializers["fc_w"] = random_tensor(rng, {5, 6});
    EXPECT_ERROR_HAS(infer_shapes(g, {1, 3, 8, 8}), "node 'fc' (Gemm)", "inner dimensions");
  }
  {
    Graph g = small_cnn(rng);
    g.initializers["w2"] = random_tensor(rng, {4, 4, 3, 3});  // valid conv, 2×2 output: Add cannot broadcast
    g.nodes[4].attrs.kernel_shape = {3, 3};
    EXPECT_ERROR_HAS(infer_shapes(g, {1, 3, 8, 8}), "node 'add1' (Add)", "not broadcastable");
  }
  {
    Graph g = small_cnn(rng);
    g.initializers["shape"] = Tensor::from_ints(DType::kInt64, {2}, {0, 7});
    g.nodes[7] = make_node(Op::kReshape, "reshape", {"g1", "shape"}, "f1");
    EXPECT_ERROR_HAS(infer_shapes(g, {2, 3, 8, 8}), "node 'reshape' (Reshape)", "element count");
  }
  {
    Graph g = small_cnn(rng);
    g.nodes[0].inputs.pop_back();
    g.nodes[0].inputs.pop_back();
    EXPECT_ERROR_HAS(infer_shapes(g, {1, 3, 8, 8}), "node 'conv1' (Conv)", "inputs");
  }
  {
    Graph g = small_cnn(rng);
    g.nodes[3].outputs.push_back("indices");
    EXPECT_ERROR_HAS(infer_shapes(g, {1, 3, 8, 8}), "node 'pool1' (MaxPool)", "indices");
  }
  {
    Graph g = small_cnn(rng);
    EXPECT_ERROR_HAS(infer_shapes(g, {1, 4, 8, 8}), "input tensor has shape [1,4,8,8]", "[-1,3,8,8]");
    EXPECT_ERROR_HAS(infer_shapes(g, {1, 3, 8}), "input tensor has shape");
  }
}

TEST(ShapeInference, ReshapeWithZeroAndMinusOne) {
  std::mt19937 rng(3);
  Graph g = small_cnn(rng);
  g.initializers["shape"] = Tensor::from_ints(DType::kInt64, {2}, {0, -1});
  g.nodes[7] = make_node(Op::kReshape, "reshape", {"g1", "shape"}, "f1");
  EXPECT_EQ(infer_shapes(g, {6, 3, 8, 8}).at("f1"), (Shape{6, 4}));
}

TEST(ShapeInference, ResolvedPads) {
  Node conv = make_node(Op::kConv, "c", {"x", "w"}, "y");
  conv.attrs.strides = {2, 2};
  conv.attrs.auto_pad = AutoPad::kSameUpper;
  // kernel_shape from the weight; in 8, stride 2 → out 4, total pad (4−1)·2 + 3 − 8 = 1.
  Attrs a = resolved_pads(conv, {1, 3, 8, 8}, {4, 3, 3, 3});
  EXPECT_EQ(a.kernel_shape, (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(a.pads, (std::vector<int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(a.dilations, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(a.auto_pad, AutoPad::kNotSet);
  conv.attrs.auto_pad = AutoPad::kSameLower;
  EXPECT_EQ(resolved_pads(conv, {1, 3, 8, 8}, {4, 3, 3, 3}).pads, (std::vector<int64_t>{1, 1, 0, 0}));
  // Dilation 2, stride 1, in 7 × 6: total = (k−1)·d = 4 on both axes.
  conv.attrs.strides = {};
  conv.attrs.dilations = {2, 2};
  conv.attrs.auto_pad = AutoPad::kSameUpper;
  EXPECT_EQ(resolved_pads(conv, {1, 3, 7, 6}, {4, 3, 3, 3}).pads, (std::vector<int64_t>{2, 2, 2, 2}));
  conv.attrs.auto_pad = AutoPad::kValid;
  conv.attrs.pads = {1, 1, 1, 1};
  EXPECT_EQ(resolved_pads(conv, {1, 3, 7, 6}, {4, 3, 3, 3}).pads, (std::vector<int64_t>{0, 0, 0, 0}));

  Node pool = make_node(Op::kAveragePool, "p", {"x"}, "y");
  pool.attrs.kernel_shape = {3, 2};
  pool.attrs.strides = {2, 2};
  pool.attrs.ceil_mode = true;
  pool.attrs.auto_pad = AutoPad::kSameUpper;
  // H: in 5 → out 3, total (3−1)·2 + 3 − 5 = 2; W: in 6 → out 3, total 2·2 + 2 − 6 = 0.
  a = resolved_pads(pool, {1, 1, 5, 6});
  EXPECT_EQ(a.pads, (std::vector<int64_t>{1, 0, 1, 0}));
  EXPECT_FALSE(a.ceil_mode);
  EXPECT_ERROR_HAS(resolved_pads(make_node(Op::kMaxPool, "mp", {"x"}, "y"), {1, 1, 5, 6}),
                   "node 'mp' (MaxPool)", "kernel_shape");
  pool.attrs.strides = {1, 1, 1};
  EXPECT_ERROR_HAS(resolved_pads(pool, {1, 1, 5, 6}), "node 'p' (AveragePool)", "strides");
}

// ---------------------------------------------------------------------------------------------------
// Engine

TEST(Fp32Engine, MatchesKernelsComposedByHand) {
  std::mt19937 rng(4);
  const Graph g = small_cnn(rng);
  Fp32Engine engine(g);
  const Tensor x = random_tensor(rng, {2, 3, 8, 8});
  const auto out = engine.run(x);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape, (Shape{2, 5}));

  // The same network evaluated step by step with plain loops and the kernels.
  auto init = [&](const char* n) { return g.initializer(n)->f; };
  ref::Window2d win;
  win.kernel_h = win.kernel_w = 3;
  win.pad_top = win.pad_left = win.pad_bottom = win.pad_right = 1;
  const auto cp = ref::make_conv2d_params({2, 3, 8, 8}, {4, 3, 3, 3}, win, 1);
  std::vector<float> c1(2 * 4 * 64);
  ref::conv2d(cp, x.f.data(), init("w1").data(), init("b1").data(), c1.data());
  const auto sc = init("bn_scale"), bb = init("bn_bias"), mu = init("bn_mean"), var = init("bn_var");
  for (size_t i = 0; i < c1.size(); ++i) {
    const size_t c = (i / 64) % 4;
    c1[i] = std::max(0.0f, (c1[i] - mu[c]) * sc[c] / std::sqrt(var[c] + 1e-5f) + bb[c]);
  }
  std::vector<float> p1(2 * 4 * 16);
  for (size_t nc = 0; nc < 8; ++nc)
    for (size_t h = 0; h < 4; ++h)
      for (size_t w = 0; w < 4; ++w) {
        const float* s = &c1[nc * 64 + 2 * h * 8 + 2 * w];
        p1[nc * 16 + h * 4 + w] = std::max(std::max(s[0], s[1]), std::max(s[8], s[9]));
      }
  const auto w2 = init("w2");
  std::vector<float> f1(2 * 4, 0.0f);
  for (size_t n = 0; n < 2; ++n)
    for (size_t m = 0; m < 4; ++m)
      for (size_t i = 0; i < 16; ++i) {
        float conv = 0.0f;
        for (size_t c = 0; c < 4; ++c) conv += w2[m * 4 + c] * p1[(n * 4 + c) * 16 + i];
        f1[n * 4 + m] += (conv + p1[(n * 4 + m) * 16 + i]) / 16.0f;
      }
  const Shape bias_shape{5};
  const auto gp = ref::make_gemm_params({2, 4}, {5, 4}, &bias_shape, false, true, 1.0f, 1.0f);
  std::vector<float> logits(10), prob(10);
  ref::gemm(gp, f1.data(), init("fc_w").data(), init("fc_b").data(), logits.data());
  ref::softmax(ref::make_softmax_params({2, 5}, 1), logits.data(), prob.data());
  for (size_t i = 0; i < 10; ++i) EXPECT_NEAR(out[0].f[i], prob[i], 1e-6) << "at " << i;
  EXPECT_NEAR(out[0].f[0] + out[0].f[1] + out[0].f[2] + out[0].f[3] + out[0].f[4], 1.0f, 1e-6);
}

TEST(Fp32Engine, BatchedRunEqualsSingleRuns) {
  std::mt19937 rng(5);
  Fp32Engine engine(small_cnn(rng));
  const Tensor x = random_tensor(rng, {3, 3, 8, 8});
  const auto batched = engine.run(x)[0];
  ASSERT_EQ(batched.shape, (Shape{3, 5}));
  for (int64_t n = 0; n < 3; ++n) {
    const Tensor one = Tensor::from_floats(
        {1, 3, 8, 8}, std::vector<float>(x.f.begin() + n * 192, x.f.begin() + (n + 1) * 192));
    const auto single = engine.run(one)[0];
    for (int64_t j = 0; j < 5; ++j)
      EXPECT_EQ(single.f[j], batched.f[n * 5 + j]) << "image " << n << " class " << j;
  }
  // Still right after switching back to the first shape (cached plan).
  EXPECT_EQ(engine.run(x)[0].f, batched.f);
}

TEST(Fp32Engine, TapSeesEveryValue) {
  std::mt19937 rng(6);
  const Graph g = small_cnn(rng);
  Fp32Engine engine(g);
  const Tensor x = random_tensor(rng, {2, 3, 8, 8});
  std::vector<std::string> seen;
  std::map<std::string, Tensor> values;
  const auto out = engine.run(x, [&](const std::string& name, const Tensor& t) {
    seen.push_back(name);
    values[name] = t;
  });
  std::vector<std::string> want{"x"};
  for (const Node& n : engine.graph().nodes) want.push_back(n.outputs[0]);
  EXPECT_EQ(seen, want);
  const auto shapes = infer_shapes(g, x.shape);
  for (const auto& [name, t] : values) {
    EXPECT_EQ(t.shape, shapes.at(name)) << name;
    EXPECT_EQ(int64_t(t.f.size()), num_elements(t.shape)) << name;
  }
  EXPECT_EQ(values.at("x").f, x.f);
  EXPECT_EQ(values.at("prob").f, out[0].f);
  for (float v : values.at("r1").f) EXPECT_GE(v, 0.0f);
  // The skip connection read p1 after conv2 consumed it: the sum must equal c2 + p1.
  for (size_t i = 0; i < values.at("a1").f.size(); ++i)
    EXPECT_EQ(values.at("a1").f[i], values.at("c2").f[i] + values.at("p1").f[i]);
}

TEST(Fp32Engine, OutputsAndInPlaceOps) {
  // x → Relu → Reshape → Clip → Identity, with an intermediate also exported as a graph output.
  Graph g;
  g.inputs = {{"x", DType::kFloat32, {-1, 2, 3}}};
  g.initializers["shape"] = Tensor::from_ints(DType::kInt64, {2}, {0, -1});
  g.initializers["half"] = Tensor::from_floats({3}, {0.5f, 1.0f, 2.0f});
  Attrs clip;
  clip.clip_min = 0.25f;
  clip.clip_max = 1.5f;
  g.nodes = {
      make_node(Op::kRelu, "relu", {"x"}, "r"),
      make_node(Op::kReshape, "reshape", {"r", "shape"}, "flat"),
      make_node(Op::kClip, "clip", {"flat"}, "clipped", clip),
      make_node(Op::kIdentity, "id", {"clipped"}, "y"),
      make_node(Op::kMul, "mul", {"r", "half"}, "scaled"),
      make_node(Op::kSub, "sub", {"scaled", "x"}, "diff"),
  };
  g.outputs = {{"y", DType::kFloat32, {}}, {"r", DType::kFloat32, {}}, {"diff", DType::kFloat32, {}}};
  Fp32Engine engine(g);
  const Tensor x = Tensor::from_floats({1, 2, 3}, {-1.0f, 0.1f, 0.5f, 1.0f, 2.0f, -3.0f});
  const auto out = engine.run(x);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].shape, (Shape{1, 6}));
  EXPECT_EQ(out[0].f, (std::vector<float>{0.25f, 0.25f, 0.5f, 1.0f, 1.5f, 0.25f}));
  EXPECT_EQ(out[1].shape, (Shape{1, 2, 3}));
  EXPECT_EQ(out[1].f, (std::vector<float>{0.0f, 0.1f, 0.5f, 1.0f, 2.0f, 0.0f}));
  EXPECT_EQ(out[2].f, (std::vector<float>{1.0f, 0.0f, 0.5f, -0.5f, 0.0f, 3.0f}));
}

TEST(Fp32Engine, QdqSimulation) {
  // x → Q (uint8, scale 0.1, zp 128) → DQ → Conv with per-axis int8 weights behind a DQ.
  std::mt19937 rng(7);
  Graph g;
  g.inputs = {{"x", DType::kFloat32, {-1, 2, 4, 4}}};
  g.initializers["xs"] = Tensor::from_floats({}, {0.1f});
  g.initializers["xz"] = Tensor::from_ints(DType::kUint8, {}, {128});
  std::vector<int64_t> wq(3 * 2 * 3 * 3);
  std::uniform_int_distribution<int> qd(-127, 127);
  for (auto& v : wq) v = qd(rng);
  g.initializers["wq"] = Tensor::from_ints(DType::kInt8, {3, 2, 3, 3}, wq);
  g.initializers["ws"] = Tensor::from_floats({3}, {0.01f, 0.02f, 0.005f});
  g.initializers["wz"] = Tensor::from_ints(DType::kInt8, {3}, {0, 0, 0});
  Attrs axis0;
  axis0.axis = 0;
  g.nodes = {
      make_node(Op::kQuantizeLinear, "q", {"x", "xs", "xz"}, "xq"),
      make_node(Op::kDequantizeLinear, "dq", {"xq", "xs", "xz"}, "xd"),
      make_node(Op::kDequantizeLinear, "wdq", {"wq", "ws", "wz"}, "w", axis0),
      make_node(Op::kConv, "conv", {"xd", "w"}, "y", conv_attrs(3, 1, 1)),
  };
  g.outputs = {{"y", DType::kFloat32, {}}};
  Fp32Engine engine(g);
  const Tensor x = random_tensor(rng, {2, 2, 4, 4}, -15.0f, 15.0f);
  std::map<std::string, Tensor> values;
  const auto y = engine.run(x, [&](const std::string& n, const Tensor& t) { values[n] = t; })[0];
  const Tensor& xq = values.at("xq");
  ASSERT_EQ(xq.dtype, DType::kUint8);
  std::vector<float> xd(x.f.size());
  for (size_t i = 0; i < x.f.size(); ++i) {
    const int64_t want = std::clamp<int64_t>(int64_t(std::nearbyint(x.f[i] / 0.1f)) + 128, 0, 255);
    ASSERT_EQ(xq.i[i], want) << "at " << i;
    xd[i] = float(want - 128) * 0.1f;
    ASSERT_EQ(values.at("xd").f[i], xd[i]) << "at " << i;
  }
  std::vector<float> w(wq.size());
  const float ws[] = {0.01f, 0.02f, 0.005f};
  for (size_t i = 0; i < w.size(); ++i) w[i] = float(wq[i]) * ws[i / 18];
  EXPECT_EQ(values.at("w").f, w);
  ref::Window2d win;
  win.kernel_h = win.kernel_w = 3;
  win.pad_top = win.pad_left = win.pad_bottom = win.pad_right = 1;
  std::vector<float> want(2 * 3 * 16);
  ref::conv2d(ref::make_conv2d_params({2, 2, 4, 4}, {3, 2, 3, 3}, win, 1), xd.data(), w.data(), nullptr,
              want.data());
  EXPECT_EQ(y.f, want);
}

TEST(Fp32Engine, RejectsBadGraphsAndInputs) {
  std::mt19937 rng(8);
  {
    Graph g = small_cnn(rng);
    g.inputs.push_back({"x2", DType::kFloat32, {1, 3}});
    EXPECT_ERROR_HAS(Fp32Engine{g}, "more than one", "'x2'");
  }
  {
    Graph g = small_cnn(rng);
    g.initializers["w1"] = random_tensor(rng, {4, 5, 3, 3});
    EXPECT_ERROR_HAS(Fp32Engine{g}, "node 'conv1' (Conv)", "channel mismatch");
  }
  {
    Graph g = small_cnn(rng);
    g.nodes[6] = make_node(Op::kReshape, "reshape", {"a1", "p1"}, "g1");  // shape from a computed value
    EXPECT_ERROR_HAS(Fp32Engine{g}, "node 'reshape' (Reshape)", "must be an initializer");
  }
  {
    Graph g = small_cnn(rng);
    g.initializers["b1"].shape = {5};  // 4 stored values
    EXPECT_ERROR_HAS(Fp32Engine{g}, "initializer 'b1' holds 4 values for shape [5]");
  }
  {
    Graph g = small_cnn(rng);
    g.nodes[2].inputs = {"missing"};
    EXPECT_ERROR_HAS(Fp32Engine{g}, "missing");
  }
  Fp32Engine engine(small_cnn(rng));
  EXPECT_ERROR_HAS(engine.run(random_tensor(rng, {1, 3, 9, 8})), "input tensor has shape [1,3,9,8]");
  EXPECT_ERROR_HAS(engine.run(Tensor::from_ints(DType::kInt8, {1, 3, 8, 8}, std::vector<int64_t>(192))),
                   "float32");
  Tensor short_data = random_tensor(rng, {1, 3, 8, 8});
  short_data.f.pop_back();
  EXPECT_ERROR_HAS(engine.run(short_data), "191 values");
  // A float tensor where DequantizeLinear expects integers.
  Graph g;
  g.inputs = {{"x", DType::kFloat32, {-1, 4}}};
  g.initializers["s"] = Tensor::from_floats({}, {0.5f});
  g.nodes = {make_node(Op::kDequantizeLinear, "dq", {"x", "s"}, "y")};
  g.outputs = {{"y", DType::kFloat32, {}}};
  Fp32Engine dq(g);
  EXPECT_ERROR_HAS(dq.run(random_tensor(rng, {2, 4})), "node 'dq' (DequantizeLinear)",
                   "expected an integer type");
}

}  // namespace
}  // namespace tinyptq
