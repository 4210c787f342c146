// AdaRound and its math: matmul kernels, im2col conv forward/backward (finite differences), the rounding
// variables, the reconstruction gradient, determinism, the layer runner, and W4A8 `best` on the real model.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "core/error.h"
#include "data/calibration.h"
#include "data/cifar.h"
#include "engine/fp32_engine.h"
#include "eval/evaluate.h"
#include "eval/model_io.h"
#include "quant/adaround.h"
#include "quant/adaround/fake_quant.h"
#include "quant/adaround/linear_layer.h"
#include "quant/adaround/matmul.h"
#include "quant/adaround/reconstruction.h"
#include "quant/adaround/rounding.h"
#include "quant/bias_correction.h"
#include "quant/layer_runner.h"
#include "quant/weight_quantizer.h"
#include "test_util.h"

namespace tinyptq {
namespace {

using adaround::LinearLayer;

std::vector<float> random_vector(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

Tensor random_tensor(const Shape& s, std::mt19937& rng, float scale = 1.0f) {
  return Tensor::from_floats(s, random_vector(size_t(num_elements(s)), rng, scale));
}

Node conv_node(int64_t k, int64_t stride, int64_t pad, int64_t dilation = 1) {
  Node n{Op::kConv, "conv", {"x", "w", "b"}, {"y"}, {}};
  n.attrs.kernel_shape = {k, k};
  n.attrs.strides = {stride, stride};
  n.attrs.pads = {pad, pad, pad, pad};
  n.attrs.dilations = {dilation, dilation};
  return n;
}

Node gemm_node() {
  Node n{Op::kGemm, "fc", {"x", "w", "b"}, {"y"}, {}};
  n.attrs.trans_b = true;
  return n;
}

// ---- matmul kernels ----

TEST(Matmul, MatchesDoubleReferenceOnAwkwardSizes) {
  std::mt19937 rng(3);
  for (int64_t m : {1, 3, 4, 7, 17})
    for (int64_t n : {1, 5, 16, 33})
      for (int64_t k : {1, 7, 8, 29}) {
        const auto a = random_vector(size_t(m * k), rng), b = random_vector(size_t(k * n), rng);
        const auto bt = random_vector(size_t(n * k), rng), c0 = random_vector(size_t(m * n), rng);
        std::vector<float> nn = c0, nt = c0;
        adaround::matmul_nn(m, n, k, a.data(), k, b.data(), n, nn.data(), n, true);
        adaround::matmul_nt(m, n, k, a.data(), k, bt.data(), k, nt.data(), n, true);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double rnn = c0[size_t(i * n + j)], rnt = c0[size_t(i * n + j)];
            for (int64_t p = 0; p < k; ++p) {
              rnn += double(a[size_t(i * k + p)]) * b[size_t(p * n + j)];
              rnt += double(a[size_t(i * k + p)]) * bt[size_t(j * k + p)];
            }
            ASSERT_NEAR(nn[size_t(i * n + j)], rnn, 1e-4 * (1 + std::abs(rnn))) << m << "x" << n << "x" << k;
            ASSERT_NEAR(nt[size_t(i * n + j)], rnt, 1e-4 * (1 + std::abs(rnt))) << m << "x" << n << "x" << k;
          }
      }
}

// The AVX-512 tiles (4×32 / 4×16 NN, 4×8 / 4×4 / 4×2 NT) run each element's chain unchanged: bitwise equal
// to AVX2 over sizes that exercise every tile and edge path, with and without accumulation (k = 1024: rows
// 4 KiB apart take the 4×4 NT tile; 1027: long rows with a tail in the 4×8 tile).
TEST(Matmul, Avx512EqualsAvx2Bitwise) {
  using adaround::MatmulVariant;
  if (!adaround::matmul_variant_supported(MatmulVariant::kAvx512)) GTEST_SKIP() << "CPU without AVX-512";
  std::mt19937 rng(5);
  for (int64_t m : {1, 3, 4, 5, 8, 13})
    for (int64_t n : {1, 2, 3, 4, 6, 15, 16, 17, 31, 32, 33, 48, 70})
      for (int64_t k : {1, 7, 8, 9, 24, 45, 64, 1024, 1027})
        for (bool acc : {false, true}) {
          const auto a = random_vector(size_t(m * k), rng), b = random_vector(size_t(k * n), rng);
          const auto bt = random_vector(size_t(n * k), rng), c0 = random_vector(size_t(m * n), rng);
          std::vector<float> nn2 = c0, nn5 = c0, nt2 = c0, nt5 = c0;
          adaround::matmul_nn_with(MatmulVariant::kAvx2, m, n, k, a.data(), k, b.data(), n, nn2.data(), n, acc);
          adaround::matmul_nn_with(MatmulVariant::kAvx512, m, n, k, a.data(), k, b.data(), n, nn5.data(), n, acc);
          adaround::matmul_nt_with(MatmulVariant::kAvx2, m, n, k, a.data(), k, bt.data(), k, nt2.data(), n, acc);
          adaround::matmul_nt_with(MatmulVariant::kAvx512, m, n, k, a.data(), k, bt.data(), k, nt5.data(), n, acc);
          ASSERT_EQ(nn2, nn5) << m << "x" << n << "x" << k << " acc " << acc;
          ASSERT_EQ(nt2, nt5) << m << "x" << n << "x" << k << " acc " << acc;
        }
}

TEST(Matmul, RowSplitsGiveBitwiseIdenticalResults) {
  std::mt19937 rng(4);
  const int64_t m = 23, n = 37, k = 45;
  const auto a = random_vector(size_t(m * k), rng), b = random_vector(size_t(k * n), rng);
  const auto bt = random_vector(size_t(n * k), rng);
  std::vector<float> whole(size_t(m * n)), split(size_t(m * n)), whole_t(size_t(m * n)), split_t(size_t(m * n));
  adaround::matmul_nn(m, n, k, a.data(), k, b.data(), n, whole.data(), n, false);
  adaround::matmul_nt(m, n, k, a.data(), k, bt.data(), k, whole_t.data(), n, false);
  for (int64_t r0 : {0, 5, 6, 17}) {  // rows [r0, next) one block at a time
    const int64_t r1 = r0 == 0 ? 5 : r0 == 5 ? 6 : r0 == 6 ? 17 : m;
    adaround::matmul_nn(r1 - r0, n, k, a.data() + r0 * k, k, b.data(), n, split.data() + r0 * n, n, false);
    adaround::matmul_nt(r1 - r0, n, k, a.data() + r0 * k, k, bt.data(), k, split_t.data() + r0 * n, n, false);
  }
  EXPECT_EQ(whole, split);
  EXPECT_EQ(whole_t, split_t);
}

TEST(FakeQuant, TensorKernelIsBitIdenticalToQdq) {
  std::mt19937 rng(12);
  for (const QuantFormat f : {QuantFormat{Container::kUint8, 8, false, false}, QuantFormat{Container::kUint8, 4, false, false},
                              QuantFormat{Container::kInt8, 3, true, true}, QuantFormat{Container::kInt8, 8, false, false}}) {
    const QParams p = qparams_from_range(-1.3f, 2.9f, f);
    std::vector<float> x = random_vector(1003, rng, 2.0f);
    for (int k = -20; k < 20; ++k) x.push_back((float(k) + 0.5f) * p.scale[0]);  // ties
    x.push_back(NAN);
    x.push_back(INFINITY);
    x.push_back(-INFINITY);
    x.push_back(1e30f);
    std::vector<float> a = x, b = x;
    fake_quantize(a, p);
    adaround::fake_quantize_tensor(b, p);
    for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(a[i], b[i]) << format_name(f) << " x = " << x[i];
  }
}

// ---- conv / gemm forward and backward ----

struct LayerCase {
  Node node;
  Shape x, w;
};

std::vector<LayerCase> layer_cases() {
  return {{conv_node(3, 1, 1), {2, 3, 6, 5}, {4, 3, 3, 3}},
          {conv_node(3, 2, 1), {2, 2, 7, 7}, {3, 2, 3, 3}},
          {conv_node(2, 1, 0, 2), {1, 2, 6, 6}, {2, 2, 2, 2}},
          {conv_node(1, 2, 0), {2, 4, 5, 5}, {3, 4, 1, 1}},
          {gemm_node(), {3, 6}, {4, 6}}};
}

TEST(LinearLayer, ForwardMatchesTheReferenceEngine) {
  std::mt19937 rng(5);
  for (const auto& c : layer_cases()) {
    const Tensor x = random_tensor(c.x, rng), w = random_tensor(c.w, rng), b = random_tensor({c.w[0]}, rng);
    Graph g;
    Shape in = c.x;
    in[0] = -1;
    g.inputs.push_back({"x", DType::kFloat32, in});
    g.initializers["w"] = w;
    g.initializers["b"] = b;
    g.nodes.push_back(c.node);
    g.outputs.push_back({"y", DType::kFloat32, {}});
    const Tensor ref = Fp32Engine(g).run(x)[0];
    const LinearLayer l = adaround::make_linear_layer(c.node, c.x, c.w);
    std::vector<float> y(size_t(c.x[0] * l.out_size()));
    adaround::linear_forward(l, x.f.data(), c.x[0], w.f.data(), b.f.data(), y.data(), 2);
    ASSERT_EQ(y.size(), ref.f.size()) << shape_str(c.x);
    for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref.f[i], 1e-4) << shape_str(c.x) << " at " << i;
  }
}

// L = Σ r ⊙ y is linear in W and in x, so central differences are exact up to float rounding.
TEST(LinearLayer, BackwardMatchesFiniteDifferences) {
  std::mt19937 rng(6);
  for (const auto& c : layer_cases()) {
    const Tensor x = random_tensor(c.x, rng), w = random_tensor(c.w, rng);
    const LinearLayer l = adaround::make_linear_layer(c.node, c.x, c.w);
    const int64_t n = c.x[0];
    const auto r = random_vector(size_t(n * l.out_size()), rng);
    auto loss = [&](const std::vector<float>& wv, const std::vector<float>& xv) {
      std::vector<float> y(r.size());
      adaround::linear_forward(l, xv.data(), n, wv.data(), nullptr, y.data(), 1);
      double s = 0;
      for (size_t i = 0; i < y.size(); ++i) s += double(r[i]) * y[i];
      return s;
    };
    std::vector<float> dw(w.f.size()), dx(x.f.size());
    adaround::linear_backward(l, x.f.data(), n, w.f.data(), r.data(), dw.data(), dx.data());
    const float h = 0.25f;
    for (size_t i = 0; i < w.f.size(); ++i) {
      auto wp = w.f, wm = w.f;
      wp[i] += h;
      wm[i] -= h;
      const double fd = (loss(wp, x.f) - loss(wm, x.f)) / (2 * h);
      EXPECT_NEAR(dw[i], fd, 2e-3 * (1 + std::abs(fd))) << shape_str(c.x) << " dW[" << i << "]";
    }
    for (size_t i = 0; i < x.f.size(); ++i) {
      auto xp = x.f, xm = x.f;
      xp[i] += h;
      xm[i] -= h;
      const double fd = (loss(w.f, xp) - loss(w.f, xm)) / (2 * h);
      EXPECT_NEAR(dx[i], fd, 2e-3 * (1 + std::abs(fd))) << shape_str(c.x) << " dX[" << i << "]";
    }
  }
}

TEST(LinearLayer, MeanColumnMatchesIm2colAverage) {
  std::mt19937 rng(7);
  const LayerCase c = layer_cases()[1];
  const Tensor x = random_tensor(c.x, rng);
  const LinearLayer l = adaround::make_linear_layer(c.node, c.x, c.w);
  const auto m = adaround::mean_column(l, x.f.data(), c.x[0]);
  std::vector<float> cols(size_t(l.k * l.positions));
  std::vector<double> ref(size_t(l.k), 0.0);
  for (int64_t n = 0; n < c.x[0]; ++n) {
    adaround::im2col(l, x.f.data() + n * l.in_size, cols.data());
    for (int64_t q = 0; q < l.k; ++q)
      for (int64_t p = 0; p < l.positions; ++p) ref[size_t(q)] += cols[size_t(q * l.positions + p)];
  }
  for (int64_t q = 0; q < l.k; ++q) EXPECT_NEAR(m[size_t(q)], ref[size_t(q)] / double(c.x[0] * l.positions), 1e-5);
}

TEST(LinearLayer, RejectsUnsupportedNodes) {
  Node grouped = conv_node(3, 1, 1);
  grouped.attrs.group = 2;
  EXPECT_THROW(adaround::make_linear_layer(grouped, {1, 4, 5, 5}, {4, 2, 3, 3}), Error);
  EXPECT_THROW(adaround::make_linear_layer(gemm_node(), {2, 5}, {3, 6}), Error);  // K mismatch
  Node relu{Op::kRelu, "r", {"x"}, {"y"}, {}};
  EXPECT_THROW(adaround::make_linear_layer(relu, {1, 4}, {4, 4}), Error);
}

// ---- rounding variables ----

TEST(Rounding, RectifiedSigmoidInverseStartsAtTheFraction) {
  for (float f : {0.0f, 0.01f, 0.25f, 0.5f, 0.75f, 0.99f})
    EXPECT_NEAR(adaround::rectified_sigmoid(adaround::rectified_sigmoid_inverse(f)), f, 1e-5);
  EXPECT_EQ(adaround::rectified_sigmoid(-50.0f), 0.0f);
  EXPECT_EQ(adaround::rectified_sigmoid(50.0f), 1.0f);
}

TEST(Rounding, SoftWeightsStartAtTheFloatWeights) {
  const std::vector<float> w = {0.13f, -0.42f, 0.77f, -1.9f, 2.5f, 0.0f};  // row 2: ±1.9, 2.5 saturate at ±7·0.1
  const std::vector<float> scale = {0.25f, 0.1f};
  const std::vector<int32_t> zp = {0, 0};
  adaround::RoundingBlock block(w.data(), 2, 3, scale.data(), zp.data(), -7, 7);
  std::vector<float> soft(6);
  block.soft_weights(soft.data());
  for (size_t i = 0; i < 5; ++i)
    EXPECT_NEAR(soft[i], std::clamp(w[i], -7 * scale[i / 3], 7 * scale[i / 3]), 1e-5) << i;
  EXPECT_NEAR(soft[4], 0.7f, 1e-6);  // clamped to the top code 7·0.1
}

// step reuses the σ(V) that soft_weights keeps; without a soft_weights call it computes σ(V) itself, to
// the same bits.
TEST(Rounding, StepWithAndWithoutSoftWeightsIsBitIdentical) {
  std::mt19937 rng(8);
  const int64_t rows = 3, k = 37;
  const auto w = random_vector(size_t(rows * k), rng, 0.3f);
  const std::vector<float> scale = {0.05f, 0.1f, 0.07f};
  const std::vector<int32_t> zp = {0, 1, -2};
  adaround::RoundingBlock with(w.data(), rows, k, scale.data(), zp.data(), -8, 7);
  adaround::RoundingBlock without(w.data(), rows, k, scale.data(), zp.data(), -8, 7);
  adaround::RoundingSchedule schedule;
  schedule.iterations = 40;
  schedule.lr = 0.05;
  schedule.reg = 0.1;
  std::vector<float> soft(size_t(rows * k)), soft2(size_t(rows * k));
  for (int t = 0; t < schedule.iterations; ++t) {
    const auto grad = random_vector(size_t(rows * k), rng);
    with.soft_weights(soft.data());
    with.step(grad.data(), schedule, t);
    without.step(grad.data(), schedule, t);
  }
  with.soft_weights(soft.data());
  without.soft_weights(soft2.data());
  EXPECT_EQ(soft, soft2);
  EXPECT_EQ(with.codes(), without.codes());
}

// The step written out as the formulas of rounding.h, every term always evaluated (the regulariser's pow
// too, where the rectifier clamps): the block's V must follow it bit for bit, with many h clamped.
TEST(Rounding, StepEqualsTheFormulasWrittenOut) {
  std::mt19937 rng(21);
  const int64_t rows = 2, k = 50;
  const auto w = random_vector(size_t(rows * k), rng, 0.4f);
  const std::vector<float> scale = {0.06f, 0.09f};
  const std::vector<int32_t> zp = {0, 3};
  const int32_t qlo = -8, qhi = 7;
  adaround::RoundingBlock block(w.data(), rows, k, scale.data(), zp.data(), qlo, qhi);
  adaround::RoundingSchedule sch;
  sch.iterations = 60;
  sch.lr = 0.3;  // large steps: most h end clamped at 0 or 1
  sch.reg = 0.5;
  const float zeta = 1.1f, gamma = -0.1f;
  const size_t n = size_t(rows * k);
  std::vector<float> fl(n), v(n), m(n, 0.0f), sq(n, 0.0f), lo(static_cast<size_t>(rows)), hi(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    lo[size_t(r)] = float(qlo - zp[size_t(r)]);
    hi[size_t(r)] = float(qhi - zp[size_t(r)]);
    for (int64_t j = 0; j < k; ++j) {
      const size_t i = size_t(r * k + j);
      const float x = std::clamp(w[i] / scale[size_t(r)], lo[size_t(r)], hi[size_t(r)]);
      fl[i] = std::floor(x);
      v[i] = adaround::rectified_sigmoid_inverse(x - fl[i]);
    }
  }
  std::vector<float> soft(n);
  for (int t = 0; t < sch.iterations; ++t) {
    const auto grad = random_vector(n, rng);
    block.step(grad.data(), sch, t);
    const float reg = float(sch.reg_at(t)), beta = float(sch.beta_at(t));
    const double stepd = sch.lr * std::sqrt(1.0 - std::pow(0.999, t + 1)) / (1.0 - std::pow(0.9, t + 1));
    for (size_t i = 0; i < n; ++i) {
      const size_t r = i / size_t(k);
      const float sg = 1.0f / (1.0f + std::exp(-v[i]));
      const float h_raw = sg * (zeta - gamma) + gamma;
      const float dh = (h_raw > 0.0f && h_raw < 1.0f) ? (zeta - gamma) * sg * (1.0f - sg) : 0.0f;
      const float h = std::clamp(h_raw, 0.0f, 1.0f), x = fl[i] + h;
      float g = (x > lo[r] && x < hi[r]) ? grad[i] * scale[r] : 0.0f;
      const float u = 2.0f * h - 1.0f, a = std::fabs(u);
      if (reg > 0.0f && a > 0.0f) g += reg * (-2.0f * beta * std::pow(a, beta - 1.0f) * (u > 0.0f ? 1.0f : -1.0f));
      g *= dh;
      m[i] = 0.9f * m[i] + (1.0f - 0.9f) * g;
      sq[i] = 0.999f * sq[i] + (1.0f - 0.999f) * g * g;
      v[i] -= float(stepd) * m[i] / (std::sqrt(sq[i]) + float(1e-8));
    }
  }
  block.soft_weights(soft.data());
  int clamped = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t r = i / size_t(k);
    const float h = adaround::rectified_sigmoid(v[i]);
    clamped += (h == 0.0f || h == 1.0f);
    EXPECT_EQ(soft[i], scale[r] * std::clamp(fl[i] + h, lo[r], hi[r])) << i;
  }
  EXPECT_EQ(block.v(), v);
  EXPECT_GT(clamped, int(n) / 2);
}

TEST(Rounding, ScheduleWarmsUpThenAnnealsBeta) {
  adaround::RoundingSchedule s;
  s.iterations = 100;
  EXPECT_EQ(s.reg_at(0), 0.0);
  EXPECT_EQ(s.reg_at(19), 0.0);
  EXPECT_EQ(s.reg_at(20), s.reg);
  EXPECT_DOUBLE_EQ(s.beta_at(20), 20.0);
  EXPECT_NEAR(s.beta_at(60), 11.0, 1e-9);
  EXPECT_LT(s.beta_at(99), 2.3);
}

TEST(Rounding, MinibatchScheduleIsSeededEpochPermutations) {
  const auto a = adaround::minibatch_schedule(10, 4, 5, 42), b = adaround::minibatch_schedule(10, 4, 5, 42);
  const auto c = adaround::minibatch_schedule(10, 4, 5, 43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  ASSERT_EQ(a.size(), 20u);
  std::vector<int64_t> epoch(a.begin(), a.begin() + 10);
  std::sort(epoch.begin(), epoch.end());
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(epoch[size_t(i)], i);
  EXPECT_EQ(adaround::minibatch_schedule(3, 8, 2, 1).size(), 6u);  // batch clamped to the image count
}

// ---- reconstruction problems on a small random layer ----

struct Problem {
  LinearLayer layer;
  Tensor x, x_hat, w;
  std::vector<float> target;
  QParams params;
  adaround::ReconstructionData data(bool centered) const {
    adaround::ReconstructionData d;
    d.layer = layer;
    d.images = x.shape[0];
    d.x_hat = x_hat.f.data();
    d.target = target.data();
    d.centered = centered;
    return d;
  }
};

// Neighbouring pixels / features made correlated (as in real activations; with independent inputs the
// loss Hessian is diagonal and nearest rounding is already optimal): a 3×3 box filter over a mix of two
// channels for [N,C,H,W], a 3-tap moving sum over features for [N,K].
Tensor correlated(const Tensor& z) {
  Tensor x = Tensor::zeros(z.shape);
  if (z.shape.size() == 2) {
    const int64_t n = z.shape[0], k = z.shape[1];
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < k; ++j)
        x.f[size_t(i * k + j)] = z.f[size_t(i * k + j)] + 0.7f * z.f[size_t(i * k + (j + 1) % k)] +
                                 0.5f * z.f[size_t(i * k + (j + 2) % k)];
    return x;
  }
  const int64_t n = z.shape[0], c = z.shape[1], h = z.shape[2], w = z.shape[3];
  auto at = [&](int64_t i, int64_t ch, int64_t y, int64_t xx) { return z.f[size_t(((i * c + ch) * h + y) * w + xx)]; };
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t xx = 0; xx < w; ++xx) {
          float s = 0;
          int cnt = 0;
          for (int64_t dy = -1; dy <= 1; ++dy)
            for (int64_t dx = -1; dx <= 1; ++dx) {
              if (y + dy < 0 || y + dy >= h || xx + dx < 0 || xx + dx >= w) continue;
              s += at(i, ch, y + dy, xx + dx) + 0.5f * at(i, (ch + 1) % c, y + dy, xx + dx);
              ++cnt;
            }
          x.f[size_t(((i * c + ch) * h + y) * w + xx)] = 2.0f * s / float(cnt);
        }
  return x;
}

// x̂ = x quantized to 4 bits; relu_input: x ≥ 0 as after a ReLU (else zero-mean).
Problem make_problem(const Node& node, const Shape& xs, const Shape& ws, uint32_t seed, int bits,
                     bool relu_input = true) {
  std::mt19937 rng(seed);
  Problem p;
  p.x = correlated(random_tensor(xs, rng));
  if (relu_input)
    for (float& v : p.x.f) v = std::max(v, 0.0f);
  p.x_hat = p.x;
  const float lo = relu_input ? 0.0f : -3.0f;
  fake_quantize(p.x_hat.f, qparams_from_range(lo, 3.0f, QuantFormat{Container::kUint8, 4, false, false}));
  p.w = random_tensor(ws, rng, 0.3f);
  p.layer = adaround::make_linear_layer(node, xs, ws);
  p.target.resize(size_t(xs[0] * p.layer.out_size()));
  adaround::linear_forward(p.layer, p.x.f.data(), xs[0], p.w.f.data(), nullptr, p.target.data(), 1);
  QuantRecipe r;
  r.weight_method = Method::kMse;
  p.params = weight_qparams(p.w, r, bits);
  return p;
}

std::vector<int64_t> rtn_codes(const Problem& p, int bits) { return quantize_weight(p.w, p.params, bits).q.i; }

Tensor dequantized(const Problem& p, const std::vector<int64_t>& codes, int bits) {
  return dequantize_weight(QuantizedWeight{Tensor::from_ints(DType::kInt8, p.w.shape, codes), p.params, bits});
}

adaround::RoundingGrid grid_of(const QParams& q) {
  return {q.scale, q.zero_point, qmin(q.format), qmax(q.format)};
}

// Central differences of the (quadratic) reconstruction loss are exact up to rounding.
TEST(Reconstruction, GradientMatchesFiniteDifferences) {
  for (bool centered : {false, true}) {
    const Problem p = make_problem(conv_node(3, 1, 1), {3, 2, 5, 5}, {3, 2, 3, 3}, 11, 4);
    const auto d = p.data(centered);
    std::vector<float> w = p.w.f;
    for (float& v : w) v += 0.05f;
    const auto g = adaround::reconstruction_gradient(d, w.data());
    const float h = 0.05f;
    for (size_t i = 0; i < w.size(); i += 3) {
      auto wp = w, wm = w;
      wp[i] += h;
      wm[i] -= h;
      const double fd = (adaround::reconstruction_loss(d, wp.data(), 1) - adaround::reconstruction_loss(d, wm.data(), 1)) / (2 * h);
      EXPECT_NEAR(g[i], fd, 2e-3 * (1 + std::abs(fd))) << (centered ? "centered " : "") << i;
    }
  }
}

TEST(Reconstruction, FullBatchGradientEqualsMinibatchGradientOverAllImages) {
  const Problem p = make_problem(conv_node(3, 2, 1), {5, 3, 6, 6}, {4, 3, 3, 3}, 12, 4);
  for (bool centered : {false, true}) {
    const auto d = p.data(centered);
    const auto gram = adaround::gram_terms(d, 2);
    const auto g = adaround::reconstruction_gradient(d, p.w.f.data());
    const int64_t k = p.layer.k, rows = p.layer.out_channels;
    const double scale = 2.0 / double(d.images * p.layer.positions);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < k; ++j) {
        double v = 0;
        for (int64_t q = 0; q < k; ++q) v += double(p.w.f[size_t(r * k + q)]) * gram.h[size_t(q * k + j)];
        v = scale * (v - gram.b0[size_t(r * k + j)]);
        EXPECT_NEAR(g[size_t(r * k + j)], v, 1e-3 * (1 + std::abs(v)));
      }
  }
}

struct AdaRoundCase {
  Node node;
  Shape x, w;
  bool full_batch, centered, relu_input;
};

// Without centering the inputs are zero-mean: with all-positive inputs the uncentered loss is dominated by
// the mean ("DC") direction, which bias correction takes over in the pipeline (the centered loss).
void expect_adaround_beats_nearest(const AdaRoundCase& c) {
  const int bits = 3;
  const Problem p = make_problem(c.node, c.x, c.w, 21, bits, c.relu_input);
  const auto d = p.data(c.centered);
  const std::string what = std::string(c.full_batch ? "full batch" : "mini-batch") + (c.centered ? " centered" : "");
  adaround::RoundingOptions o;
  o.schedule.iterations = c.full_batch ? 1000 : 3000;  // noisy gradients need more (small) steps
  o.schedule.lr = 3e-3;
  o.full_batch = c.full_batch;
  o.batch = int(c.x[0] / 2);
  o.seed = 9;
  o.threads = 2;
  const auto codes = adaround::optimise_rounding(d, p.w.f.data(), grid_of(p.params), o);
  const auto nearest = rtn_codes(p, bits);
  ASSERT_EQ(codes.size(), nearest.size());
  int64_t flips = 0;
  for (size_t i = 0; i < codes.size(); ++i) {
    EXPECT_LE(std::abs(codes[i] - nearest[i]), 1) << i;
    EXPECT_GE(codes[i], -3);
    EXPECT_LE(codes[i], 3);
    flips += codes[i] != nearest[i];
  }
  EXPECT_GT(flips, 0) << what;
  const double l_nearest = adaround::reconstruction_loss(d, dequantized(p, nearest, bits).f.data());
  const double l_ada = adaround::reconstruction_loss(d, dequantized(p, codes, bits).f.data());
  EXPECT_LT(l_ada, 0.8 * l_nearest) << what;
  // Deterministic for a seed, and independent of the thread count.
  o.threads = 1;
  EXPECT_EQ(adaround::optimise_rounding(d, p.w.f.data(), grid_of(p.params), o), codes) << what;
  o.threads = 3;
  EXPECT_EQ(adaround::optimise_rounding(d, p.w.f.data(), grid_of(p.params), o), codes) << what;
}

TEST(AdaRound, ConvBeatsNearest) {
  for (bool full : {true, false}) expect_adaround_beats_nearest({conv_node(3, 1, 1), {16, 4, 6, 6}, {6, 4, 3, 3}, full, false, false});
  for (bool full : {true, false}) expect_adaround_beats_nearest({conv_node(3, 1, 1), {16, 4, 6, 6}, {6, 4, 3, 3}, full, true, true});
}

TEST(AdaRound, GemmBeatsNearest) {
  for (bool full : {true, false}) expect_adaround_beats_nearest({gemm_node(), {64, 24}, {5, 24}, full, false, false});
  for (bool full : {true, false}) expect_adaround_beats_nearest({gemm_node(), {64, 24}, {5, 24}, full, true, true});
}

TEST(AdaRound, ZeroIterationsIsNearestRounding) {
  const Problem p = make_problem(conv_node(3, 1, 1), {4, 2, 5, 5}, {3, 2, 3, 3}, 31, 4);
  adaround::RoundingOptions o;
  o.schedule.iterations = 0;
  const auto codes = adaround::optimise_rounding(p.data(false), p.w.f.data(), grid_of(p.params), o);
  // V starts at the fraction, so [V ≥ 0] rounds up exactly when the fraction is ≥ ½ (ties may differ).
  const auto nearest = rtn_codes(p, 4);
  int64_t differ = 0;
  for (size_t i = 0; i < codes.size(); ++i) differ += codes[i] != nearest[i];
  EXPECT_LE(differ, 1);
}

TEST(AdaRound, RejectsBadInputs) {
  const Problem p = make_problem(conv_node(3, 1, 1), {2, 2, 5, 5}, {3, 2, 3, 3}, 32, 4);
  auto d = p.data(false);
  adaround::RoundingGrid g = grid_of(p.params);
  g.scale.pop_back();
  EXPECT_THROW(adaround::optimise_rounding(d, p.w.f.data(), g, {}), Error);
  d.post_activation = true;
  adaround::RoundingOptions o;
  o.full_batch = true;
  EXPECT_THROW(adaround::optimise_rounding(d, p.w.f.data(), grid_of(p.params), o), Error);
  d.images = 0;
  EXPECT_THROW(adaround::reconstruction_loss(d, p.w.f.data()), Error);
}

// ---- layer runner ----

Graph residual_graph() {
  std::mt19937 rng(1);
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
  Node fc{Op::kGemm, "fc", {"f", "wf", "bf"}, {"logits"}, {}};
  fc.attrs.trans_b = true;
  g.nodes = {c1, {Op::kRelu, "relu1", {"c1"}, {"r1"}, {}}, c2, {Op::kAdd, "add", {"c2", "r1"}, {"a"}, {}},
             {Op::kRelu, "relu2", {"a"}, {"r2"}, {}}, {Op::kGlobalAveragePool, "gap", {"r2"}, {"p"}, {}},
             {Op::kFlatten, "flatten", {"p"}, {"f"}, {}}, fc};
  g.outputs.push_back({"logits", DType::kFloat32, {-1, 5}});
  g.validate_and_sort();
  return g;
}

TEST(LayerRunner, MatchesTheFp32EngineAndAppliesHooks) {
  const Graph g = residual_graph();
  std::mt19937 rng(2);
  const Tensor x = random_tensor({7, 2, 6, 6}, rng);
  const Tensor ref = Fp32Engine(g).run(x)[0];
  std::map<std::string, Tensor> values{{"x", x}};
  run_graph(g, values, {"logits"}, {}, 2);
  ASSERT_EQ(values.at("logits").f.size(), ref.f.size());
  for (size_t i = 0; i < ref.f.size(); ++i) EXPECT_NEAR(values.at("logits").f[i], ref.f[i], 1e-4);
  EXPECT_FALSE(values.count("c1"));  // intermediates freed
  // Starting from a cut: only the nodes after it run; hooks see every layer and value.
  std::map<std::string, Tensor> cut{{"r2", Tensor()}};
  {
    std::map<std::string, Tensor> all{{"x", x}};
    run_graph(g, all, {"r2"}, {}, 1);
    cut["r2"] = all.at("r2");
  }
  std::vector<std::string> layers, seen;
  RunnerHooks hooks;
  hooks.before_layer = [&](const Node& n, const Tensor&, Tensor& w, Tensor&) {
    layers.push_back(n.name);
    for (float& v : w.f) v = 0.0f;
  };
  hooks.after_value = [&](const std::string& v, Tensor&) { seen.push_back(v); };
  run_graph(g, cut, {"logits"}, hooks, 1);
  EXPECT_EQ(layers, std::vector<std::string>{"fc"});
  EXPECT_EQ(seen, (std::vector<std::string>{"p", "f", "logits"}));
  for (int64_t i = 0; i < 7; ++i)
    for (int64_t j = 0; j < 5; ++j)
      EXPECT_FLOAT_EQ(cut.at("logits").f[size_t(i * 5 + j)], g.initializer("bf")->f[size_t(j)]);
  std::map<std::string, Tensor> empty;
  EXPECT_THROW(run_graph(g, empty, {"logits"}), Error);
}

// ---- the pipeline on a small model ----

TEST(AdaRoundPipeline, LowBitBestIsDeterministicAndLowersTheOutputError) {
  const Graph g = residual_graph();
  std::mt19937 rng(8);
  Tensor x = random_tensor({48, 2, 6, 6}, rng);
  for (float& v : x.f) v = std::abs(v);
  const Tensor ref = Fp32Engine(g).run(x)[0];
  Calibration calib(g, x);
  auto output_error = [&](const QuantRecipe& r) {
    const Tensor out = Fp32Engine(quantize(calib, r).model.graph).run(x)[0];
    double e = 0;
    for (size_t i = 0; i < out.f.size(); ++i) e += double(out.f[i] - ref.f[i]) * (out.f[i] - ref.f[i]);
    return e;
  };
  QuantRecipe best = preset_recipe("best", 3, 8);
  EXPECT_TRUE(best.adaround);
  EXPECT_EQ(best.weight_method, Method::kMse);
  best.adaround_iterations = 300;
  QuantRecipe nearest = best;
  nearest.adaround = false;
  EXPECT_LT(output_error(best), output_error(nearest));
  best.threads = 1;
  const QuantizeResult a = quantize(calib, best);
  best.threads = 2;
  const QuantizeResult b = quantize(calib, best);
  EXPECT_EQ(a.model.graph.initializers.size(), b.model.graph.initializers.size());
  for (const auto& [name, t] : a.model.graph.initializers) {
    EXPECT_EQ(t.i, b.model.graph.initializers.at(name).i) << name;
    EXPECT_EQ(t.f, b.model.graph.initializers.at(name).f) << name;
  }
  EXPECT_FALSE(preset_recipe("best", 8, 8).adaround);
}

// ---- the real model ----

// ResNet8 with 1,000 stratified calibration images (seed 0) and test-1k, shared by the tests below.
struct RealFixture {
  Graph model;
  Layout layout = Layout::kNHWC;
  Dataset test;
  std::vector<int> fp32_top1;
  std::unique_ptr<Calibration> calib;
};

RealFixture& real() {
  static RealFixture* f = [] {
    auto* f = new RealFixture;
    f->model = load_model(testing::resnet8_onnx());
    f->layout = input_layout(f->model);
    const Dataset train = load_cifar10(testing::cifar_dir(), Split::kTrain);
    f->test = load_cifar10(testing::cifar_dir(), Split::kTest);
    EvalOptions eo;
    eo.progress = false;
    f->fp32_top1 = evaluate(f->model, f->test, eo).predicted;
    const CalibrationSet cs = stratified_sample(train, 100, 0);
    f->calib = std::make_unique<Calibration>(f->model, image_batch(train, cs.indices, f->layout, Preprocess{}));
    return f;
  }();
  return *f;
}

// `quantize --preset best --wbits W --abits A`, evaluated on test-1k by the integer engine.
EvalResult best_on_test1k(int wbits, int abits) {
  RealFixture& f = real();
  const QuantizeResult res = quantize(*f.calib, preset_recipe("best", wbits, abits), QuantizeOptions{0});
  for (const auto& l : res.layers) {
    if (l.op == "Conv" || l.op == "Gemm") {
      EXPECT_EQ(l.wbits, wbits) << l.node;
    }
  }
  auto engine = make_engine(res.model.graph, 2, EngineKind::kInteger);
  EvalOptions eo;
  eo.progress = false;
  const EvalResult e = evaluate(*engine, f.layout, f.test, eo);
  EXPECT_EQ(e.total, 1000);
  std::printf("W%dA%d best: %.1f%% on test-1k, agreement %.1f%%, quantize %.1f s\n", wbits, abits, e.accuracy,
              agreement_percent(e.predicted, f.fp32_top1), res.seconds);
  return e;
}

TEST(RealData, W4A8BestReaches86PercentOnTest1k) { EXPECT_GE(best_on_test1k(4, 8).accuracy, 86.0); }

TEST(RealData, W4A4BestReaches80PercentOnTest1k) { EXPECT_GE(best_on_test1k(4, 4).accuracy, 80.0); }

}  // namespace
}  // namespace tinyptq
