// Graph canonicalization passes: each test builds a small IR graph, runs a pass and checks the
// structure and, where arithmetic is folded, the numbers against a naive reference computed here.
#include "ir/passes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.h"
#include "engine/fp32_engine.h"

namespace tinyptq {
namespace {

Node make_node(Op op, const std::string& name, std::vector<std::string> in, std::vector<std::string> out) {
  Node n;
  n.op = op;
  n.name = name;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

std::vector<float> random_floats(size_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

int count_ops(const Graph& g, Op op) {
  return int(std::count_if(g.nodes.begin(), g.nodes.end(), [op](const Node& n) { return n.op == op; }));
}

// Naive NCHW convolution of one image: y[m,oh,ow] = b[m] + Σ_{c,kh,kw} x[g·Cg+c, oh·s−p+kh,
// ow·s−p+kw]·w[m,c,kh,kw] where g = m / (M/group) and Cg = w.shape[1].
std::vector<float> conv2d(const std::vector<float>& x, int64_t h, int64_t w_in, const Tensor& w,
                          const Tensor* b, int64_t stride, int64_t pad, int64_t group, int64_t* oh_out,
                          int64_t* ow_out) {
  const int64_t m_out = w.shape[0], cg = w.shape[1], kh = w.shape[2], kw = w.shape[3];
  const int64_t oh = (h + 2 * pad - kh) / stride + 1, ow = (w_in + 2 * pad - kw) / stride + 1;
  std::vector<float> y(size_t(m_out * oh * ow));
  for (int64_t m = 0; m < m_out; ++m) {
    const int64_t grp = m / (m_out / group);
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        double acc = b ? b->f[size_t(m)] : 0.0;
        for (int64_t c = 0; c < cg; ++c)
          for (int64_t u = 0; u < kh; ++u)
            for (int64_t v = 0; v < kw; ++v) {
              const int64_t ih = i * stride - pad + u, iw = j * stride - pad + v;
              if (ih < 0 || ih >= h || iw < 0 || iw >= w_in) continue;
              acc += double(x[size_t(((grp * cg + c) * h + ih) * w_in + iw)]) *
                     double(w.f[size_t(((m * cg + c) * kh + u) * kw + v)]);
            }
        y[size_t((m * oh + i) * ow + j)] = float(acc);
      }
  }
  *oh_out = oh;
  *ow_out = ow;
  return y;
}

// x [1,4,7,7] → Conv(4→6, 3x3, stride 2, pad 1, group 2) → BatchNormalization → Relu → y
Graph conv_bn_graph(bool with_bias, std::mt19937& rng) {
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {1, 4, 7, 7}});
  g.outputs.push_back({"y", DType::kFloat32, {1, 6, 4, 4}});
  g.initializers["w"] = Tensor::from_floats({6, 2, 3, 3}, random_floats(108, rng));
  if (with_bias) g.initializers["b"] = Tensor::from_floats({6}, random_floats(6, rng));
  g.initializers["gamma"] = Tensor::from_floats({6}, random_floats(6, rng, 0.5f, 2.0f));
  g.initializers["beta"] = Tensor::from_floats({6}, random_floats(6, rng));
  g.initializers["mean"] = Tensor::from_floats({6}, random_floats(6, rng));
  g.initializers["var"] = Tensor::from_floats({6}, random_floats(6, rng, 0.01f, 3.0f));
  Node conv = make_node(Op::kConv, "conv", {"x", "w"}, {"c"});
  if (with_bias) conv.inputs.push_back("b");
  conv.attrs.kernel_shape = {3, 3};
  conv.attrs.strides = {2, 2};
  conv.attrs.pads = {1, 1, 1, 1};
  conv.attrs.dilations = {1, 1};
  conv.attrs.group = 2;
  Node bn = make_node(Op::kBatchNormalization, "bn", {"c", "gamma", "beta", "mean", "var"}, {"n"});
  bn.attrs.epsilon = 1e-3f;
  g.nodes = {conv, bn, make_node(Op::kRelu, "relu", {"n"}, {"y"})};
  g.validate_and_sort();
  return g;
}

TEST(FoldBatchnorm, PreservesNumbers) {
  for (bool with_bias : {true, false}) {
    SCOPED_TRACE(with_bias ? "conv with bias" : "conv without bias");
    std::mt19937 rng(with_bias ? 7 : 8);
    Graph g = conv_bn_graph(with_bias, rng);
    const std::vector<float> x = random_floats(4 * 7 * 7, rng);

    // Reference: conv, then y = γ(z − μ)/√(σ² + ε) + β per channel.
    int64_t oh, ow;
    std::vector<float> ref =
        conv2d(x, 7, 7, g.initializers.at("w"), with_bias ? g.initializer("b") : nullptr, 2, 1, 2, &oh, &ow);
    const double eps = 1e-3;
    for (int64_t m = 0; m < 6; ++m) {
      const double s =
          g.initializers.at("gamma").f[size_t(m)] / std::sqrt(g.initializers.at("var").f[size_t(m)] + eps);
      for (int64_t k = 0; k < oh * ow; ++k) {
        float& v = ref[size_t(m * oh * ow + k)];
        v = float((v - g.initializers.at("mean").f[size_t(m)]) * s + g.initializers.at("beta").f[size_t(m)]);
      }
    }

    fold_batchnorm(g);
    ASSERT_EQ(count_ops(g, Op::kBatchNormalization), 0);
    ASSERT_EQ(g.nodes.size(), 2u);
    const Node conv = g.nodes[0];
    EXPECT_EQ(conv.outputs, std::vector<std::string>{"n"});
    ASSERT_EQ(conv.inputs.size(), 3u);
    EXPECT_EQ(g.nodes[1].inputs, std::vector<std::string>{"n"});
    EXPECT_NO_THROW(g.validate_and_sort());

    const std::vector<float> folded =
        conv2d(x, 7, 7, g.initializers.at(conv.inputs[1]), g.initializer(conv.inputs[2]), 2, 1, 2, &oh, &ow);
    ASSERT_EQ(folded.size(), ref.size());
    for (size_t k = 0; k < ref.size(); ++k)
      ASSERT_NEAR(folded[k], ref[k], 1e-4 * (1.0 + std::fabs(ref[k]))) << "element " << k;
  }
}

TEST(FoldBatchnorm, SharedWeightsAreCopied) {
  std::mt19937 rng(3);
  Graph g = conv_bn_graph(true, rng);
  const Tensor original = g.initializers.at("w");
  // A second conv reads the same weight and bias; they must not change under it.
  Node other = make_node(Op::kConv, "other", {"x", "w", "b"}, {"o"});
  other.attrs = g.nodes[0].attrs;
  g.nodes.push_back(other);
  g.outputs.push_back({"o", DType::kFloat32, {1, 6, 4, 4}});
  fold_batchnorm(g);
  EXPECT_EQ(count_ops(g, Op::kBatchNormalization), 0);
  EXPECT_EQ(g.initializers.at("w").f, original.f);
  const Node& conv = g.nodes[0];
  EXPECT_NE(conv.inputs[1], "w");
  EXPECT_NE(conv.inputs[2], "b");
  EXPECT_NE(g.initializers.at(conv.inputs[1]).f, original.f);
  EXPECT_EQ(g.nodes[2].inputs, (std::vector<std::string>{"x", "w", "b"}));
}

TEST(FoldBatchnorm, BatchnormNotAfterFoldableConvStays) {
  std::mt19937 rng(4);
  // BN after Relu.
  Graph a = conv_bn_graph(true, rng);
  a.nodes[1].inputs[0] = "r0";
  a.nodes.insert(a.nodes.begin() + 1, make_node(Op::kRelu, "relu0", {"c"}, {"r0"}));
  a.validate_and_sort();
  fold_batchnorm(a);
  EXPECT_EQ(count_ops(a, Op::kBatchNormalization), 1);
  // Conv output also read elsewhere.
  Graph b = conv_bn_graph(true, rng);
  b.outputs.push_back({"c", DType::kFloat32, {1, 6, 4, 4}});
  fold_batchnorm(b);
  EXPECT_EQ(count_ops(b, Op::kBatchNormalization), 1);
  // Conv weight computed at run time.
  Graph c = conv_bn_graph(true, rng);
  c.initializers.erase("w");
  c.inputs.push_back({"w", DType::kFloat32, {6, 2, 3, 3}});
  fold_batchnorm(c);
  EXPECT_EQ(count_ops(c, Op::kBatchNormalization), 1);
}

// x [N,8] → MatMul(W [8,4]) → Add(b [4]) → y
Graph matmul_add_graph(bool bias_first = false) {
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {-1, 8}});
  g.outputs.push_back({"y", DType::kFloat32, {-1, 4}});
  std::mt19937 rng(5);
  g.initializers["W"] = Tensor::from_floats({8, 4}, random_floats(32, rng));
  g.initializers["bias"] = Tensor::from_floats({4}, random_floats(4, rng));
  g.nodes = {
      make_node(Op::kMatMul, "fc", {"x", "W"}, {"mm"}),
      make_node(Op::kAdd, "fc_add",
                bias_first ? std::vector<std::string>{"bias", "mm"} : std::vector<std::string>{"mm", "bias"},
                {"y"})};
  g.validate_and_sort();
  return g;
}

TEST(FuseMatmulAdd, BecomesGemm) {
  for (bool bias_first : {false, true}) {
    Graph g = matmul_add_graph(bias_first);
    fuse_matmul_add(g);
    ASSERT_EQ(g.nodes.size(), 1u);
    const Node& gemm = g.nodes[0];
    EXPECT_EQ(gemm.op, Op::kGemm);
    EXPECT_EQ(gemm.inputs, (std::vector<std::string>{"x", "W", "bias"}));
    EXPECT_EQ(gemm.outputs, std::vector<std::string>{"y"});
    EXPECT_EQ(gemm.attrs.alpha, 1.0f);
    EXPECT_EQ(gemm.attrs.beta, 1.0f);
    EXPECT_FALSE(gemm.attrs.trans_a || gemm.attrs.trans_b);
    EXPECT_NO_THROW(g.validate_and_sort());
  }
  // After Flatten of a 4-D tensor the MatMul input is known to be 2-D.
  Graph f = matmul_add_graph();
  f.inputs[0] = {"img", DType::kFloat32, {-1, 2, 2, 2}};
  f.nodes.insert(f.nodes.begin(), make_node(Op::kFlatten, "flat", {"img"}, {"x"}));
  fuse_matmul_add(f);
  EXPECT_EQ(count_ops(f, Op::kGemm), 1);
}

TEST(FuseMatmulAdd, LeavesOtherPatterns) {
  Graph shared = matmul_add_graph();  // MatMul output read twice
  shared.outputs.push_back({"mm", DType::kFloat32, {-1, 4}});
  fuse_matmul_add(shared);
  EXPECT_EQ(count_ops(shared, Op::kGemm), 0);

  Graph rank3 = matmul_add_graph();  // batched MatMul is not a Gemm
  rank3.inputs[0].shape = {-1, 3, 8};
  fuse_matmul_add(rank3);
  EXPECT_EQ(count_ops(rank3, Op::kGemm), 0);

  Graph bias2d = matmul_add_graph();  // bias that broadcasts over more than [N]
  bias2d.initializers["bias"] = Tensor::from_floats({2, 4}, std::vector<float>(8, 1.0f));
  fuse_matmul_add(bias2d);
  EXPECT_EQ(count_ops(bias2d, Op::kGemm), 0);

  Graph dynamic = matmul_add_graph();  // weight computed at run time
  dynamic.initializers.erase("W");
  dynamic.inputs.push_back({"W", DType::kFloat32, {8, 4}});
  fuse_matmul_add(dynamic);
  EXPECT_EQ(count_ops(dynamic, Op::kGemm), 0);
}

TEST(FoldConstants, TransposeReshapeAndArithmetic) {
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {-1, 6}});
  g.outputs.push_back({"y", DType::kFloat32, {-1, 4}});
  std::vector<float> w(24);
  for (size_t k = 0; k < w.size(); ++k) w[k] = float(k);
  g.initializers["w"] = Tensor::from_floats({2, 3, 4}, w);
  g.initializers["shape"] = Tensor::from_ints(DType::kInt64, {2}, {0, -1});
  g.initializers["ones"] = Tensor::from_floats({4, 6}, std::vector<float>(24, 1.0f));
  g.initializers["twos"] = Tensor::from_floats({4, 6}, std::vector<float>(24, 2.0f));
  g.initializers["row"] = Tensor::from_floats({6}, std::vector<float>(6, 1.0f));
  Node t = make_node(Op::kTranspose, "t", {"w"}, {"wt"});  // [2,3,4] → [4,2,3]
  t.attrs.perm = {2, 0, 1};
  g.nodes = {t,
             make_node(Op::kReshape, "r", {"wt", "shape"}, {"w2"}),  // [4,6]
             make_node(Op::kAdd, "add", {"w2", "ones"}, {"w3"}),
             make_node(Op::kMul, "mul", {"w3", "twos"}, {"w4"}),
             make_node(Op::kSub, "sub", {"w4", "ones"}, {"w5"}),
             make_node(Op::kAdd, "bcast", {"w5", "row"}, {"w6"}),  // broadcasting: left alone
             make_node(Op::kIdentity, "id", {"w6"}, {"w7"}),
             make_node(Op::kTranspose, "t2", {"w7"}, {"w8"}),  // reads a value computed at run time
             make_node(Op::kMatMul, "mm", {"x", "w8"}, {"y"})};
  g.validate_and_sort();
  fold_constants(g);
  EXPECT_EQ(g.nodes.size(), 4u);
  EXPECT_EQ(g.nodes[0].name, "bcast");
  ASSERT_TRUE(g.is_initializer("w5"));
  const Tensor& w5 = g.initializers.at("w5");
  EXPECT_EQ(w5.shape, (Shape{4, 6}));
  // w5[a, b*3+c] = (w[b,c,a] + 1)·2 − 1
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 2; ++b)
      for (int c = 0; c < 3; ++c)
        EXPECT_EQ(w5.f[size_t(a * 6 + b * 3 + c)], (w[size_t(b * 12 + c * 4 + a)] + 1.0f) * 2.0f - 1.0f);
  EXPECT_TRUE(g.is_initializer("wt"));  // intermediate results stay until remove_dead
  g.remove_dead();
  EXPECT_FALSE(g.is_initializer("wt"));
  EXPECT_NO_THROW(g.validate_and_sort());
}

TEST(FoldConstants, IdentityTransposeOfIntsAndBadReshape) {
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {-1, 2}});
  g.outputs.push_back({"y", DType::kFloat32, {-1, 3}});
  g.initializers["q"] = Tensor::from_ints(DType::kInt8, {3, 2}, {1, 2, 3, 4, 5, 6});
  g.initializers["s"] = Tensor::from_floats({}, {0.5f});
  Node t = make_node(Op::kTranspose, "t", {"q_id"}, {"qt"});  // empty perm reverses the axes
  g.nodes = {make_node(Op::kIdentity, "id", {"q"}, {"q_id"}), t,
             make_node(Op::kDequantizeLinear, "dq", {"qt", "s"}, {"w"}),  // not folded
             make_node(Op::kMatMul, "mm", {"x", "w"}, {"y"})};
  fold_constants(g);
  ASSERT_EQ(g.nodes.size(), 2u);
  const Tensor& qt = g.initializers.at("qt");
  EXPECT_EQ(qt.dtype, DType::kInt8);
  EXPECT_EQ(qt.shape, (Shape{2, 3}));
  EXPECT_EQ(qt.i, (std::vector<int64_t>{1, 3, 5, 2, 4, 6}));

  Graph bad;
  bad.inputs.push_back({"x", DType::kFloat32, {-1, 4}});
  bad.outputs.push_back({"y", DType::kFloat32, {-1, 4}});
  bad.initializers["w"] = Tensor::from_floats({2, 3}, std::vector<float>(6, 1.0f));
  bad.initializers["shape"] = Tensor::from_ints(DType::kInt64, {2}, {4, -1});
  bad.nodes = {make_node(Op::kReshape, "reshape_w", {"w", "shape"}, {"w2"}),
               make_node(Op::kMatMul, "mm", {"x", "w2"}, {"y"})};
  try {
    fold_constants(bad);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("node 'reshape_w' (Reshape): cannot reshape [2,3]"),
              std::string::npos)
        << e.what();
  }
}

TEST(RemoveIdentities, RewiresConsumersAndKeepsOutputNames) {
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {-1, 4}});
  g.outputs.push_back({"y", DType::kFloat32, {-1, 4}});
  g.outputs.push_back({"x_copy", DType::kFloat32, {-1, 4}});
  g.nodes = {make_node(Op::kRelu, "r1", {"x"}, {"a"}),     make_node(Op::kIdentity, "i1", {"a"}, {"b"}),
             make_node(Op::kRelu, "r2", {"b"}, {"c"}),     make_node(Op::kAdd, "add", {"c", "b"}, {"d"}),
             make_node(Op::kIdentity, "i2", {"d"}, {"y"}), make_node(Op::kIdentity, "i3", {"x"}, {"x_copy"})};
  g.validate_and_sort();
  remove_identities(g);
  ASSERT_EQ(g.nodes.size(), 4u);
  EXPECT_EQ(count_ops(g, Op::kIdentity), 1);  // graph input → graph output must stay
  EXPECT_EQ(g.nodes[1].inputs, std::vector<std::string>{"a"});
  EXPECT_EQ(g.nodes[2].inputs, (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(g.nodes[2].outputs, std::vector<std::string>{"y"});
  EXPECT_NO_THROW(g.validate_and_sort());
}

TEST(Canonicalize, RunsAllPasses) {
  std::mt19937 rng(11);
  Graph g = conv_bn_graph(true, rng);
  // conv → bn → relu("y") becomes relu → GAP → Flatten → Identity → MatMul(Transpose(W)) + b → out.
  g.outputs = {{"out", DType::kFloat32, {1, 3}}};
  g.initializers["fc_w_t"] = Tensor::from_floats({3, 6}, random_floats(18, rng));
  g.initializers["fc_b"] = Tensor::from_floats({3}, random_floats(3, rng));
  g.initializers["unused"] = Tensor::from_floats({1}, {1.0f});
  Node t = make_node(Op::kTranspose, "wt", {"fc_w_t"}, {"fc_w"});
  t.attrs.perm = {1, 0};
  for (auto n :
       {make_node(Op::kGlobalAveragePool, "gap", {"y"}, {"p"}), make_node(Op::kFlatten, "flat", {"p"}, {"f"}),
        make_node(Op::kIdentity, "id", {"f"}, {"f2"}), t, make_node(Op::kMatMul, "mm", {"f2", "fc_w"}, {"l"}),
        make_node(Op::kAdd, "add", {"l", "fc_b"}, {"out"}), make_node(Op::kRelu, "dead", {"f"}, {"z"})})
    g.nodes.push_back(n);
  g.validate_and_sort();
  canonicalize(g);
  std::vector<Op> ops;
  for (const auto& n : g.nodes) ops.push_back(n.op);
  EXPECT_EQ(ops, (std::vector<Op>{Op::kConv, Op::kRelu, Op::kGlobalAveragePool, Op::kFlatten, Op::kGemm}));
  EXPECT_EQ(g.nodes.back().outputs, std::vector<std::string>{"out"});
  EXPECT_FALSE(g.is_initializer("unused"));
  EXPECT_FALSE(g.is_initializer("fc_w_t"));
  EXPECT_FALSE(g.is_initializer("gamma"));
  ASSERT_TRUE(g.is_initializer("fc_w"));
  EXPECT_EQ(g.initializers.at("fc_w").shape, (Shape{6, 3}));
}

// x [N,4,7,7] → Pad(0, 0, top, left, 0, 0, bottom, right) → depthwise Conv 3x3 stride 2 (pads `conv_pads`)
Graph pad_conv_graph(std::vector<int64_t> pads, PadMode mode, float value, std::vector<int64_t> conv_pads,
                     std::mt19937& rng) {
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {-1, 4, 7, 7}});
  g.initializers["w"] = Tensor::from_floats({4, 1, 3, 3}, random_floats(36, rng));
  Node pad = make_node(Op::kPad, "pad", {"x"}, {"p"});
  pad.attrs.pad_amounts = std::move(pads);
  pad.attrs.pad_mode = mode;
  pad.attrs.pad_value = value;
  Node conv = make_node(Op::kConv, "dw", {"p", "w"}, {"y"});
  conv.attrs.kernel_shape = {3, 3};
  conv.attrs.strides = {2, 2};
  conv.attrs.group = 4;
  conv.attrs.pads = std::move(conv_pads);
  g.nodes = {pad, conv};
  g.outputs.push_back({"y", DType::kFloat32, {}});
  g.validate_and_sort();
  return g;
}

TEST(FoldPadIntoConv, ZeroPaddingBecomesConvPads) {
  std::mt19937 rng(4);
  const Graph g = pad_conv_graph({0, 0, 0, 1, 0, 0, 1, 0}, PadMode::kConstant, 0.0f, {1, 0, 0, 2}, rng);
  Graph f = g;
  fold_pad_into_conv(f);
  f.remove_dead();
  f.validate_and_sort();
  ASSERT_EQ(count_ops(f, Op::kPad), 0);
  EXPECT_EQ(f.nodes[0].inputs[0], "x");
  EXPECT_EQ(f.nodes[0].attrs.pads, (std::vector<int64_t>{1, 1, 1, 2}));
  const Tensor x = Tensor::from_floats({2, 4, 7, 7}, random_floats(2 * 4 * 49, rng));
  const Tensor want = Fp32Engine(g).run(x)[0], got = Fp32Engine(f).run(x)[0];
  ASSERT_EQ(got.shape, want.shape);
  for (size_t i = 0; i < want.f.size(); ++i) EXPECT_NEAR(got.f[i], want.f[i], 1e-6) << i;
}

TEST(FoldPadIntoConv, OtherPadsStay) {
  std::mt19937 rng(4);
  const std::vector<int64_t> spatial = {0, 0, 1, 1, 0, 0, 1, 1};
  const Graph cases[] = {
      pad_conv_graph(spatial, PadMode::kReflect, 0.0f, {}, rng),
      pad_conv_graph(spatial, PadMode::kConstant, 0.5f, {}, rng),
      pad_conv_graph({0, 0, -1, 1, 0, 0, 1, 1}, PadMode::kConstant, 0.0f, {}, rng),
  };
  for (const Graph& g : cases) {
    Graph f = g;
    fold_pad_into_conv(f);
    EXPECT_EQ(count_ops(f, Op::kPad), 1);
  }
  Graph shared = pad_conv_graph(spatial, PadMode::kConstant, 0.0f, {}, rng);  // also read by a Relu
  shared.nodes.push_back(make_node(Op::kRelu, "relu", {"p"}, {"r"}));
  shared.outputs.push_back({"r", DType::kFloat32, {}});
  shared.validate_and_sort();
  fold_pad_into_conv(shared);
  EXPECT_EQ(count_ops(shared, Op::kPad), 1);
}

}  // namespace
}  // namespace tinyptq
