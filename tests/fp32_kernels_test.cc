// FP32 reference kernels against independent naive formulas (double precision, written from the ONNX
// definitions) over sweeps of small random shapes. Each failure names the case.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/fp32/reference/averagepool.h"
#include "kernels/fp32/reference/batchnorm.h"
#include "kernels/fp32/reference/clip.h"
#include "kernels/fp32/reference/conv2d.h"
#include "kernels/fp32/reference/elementwise_binary.h"
#include "kernels/fp32/reference/gemm.h"
#include "kernels/fp32/reference/global_averagepool.h"
#include "kernels/fp32/reference/matmul.h"
#include "kernels/fp32/reference/maxpool.h"
#include "kernels/fp32/reference/quantize_linear.h"
#include "kernels/fp32/reference/relu.h"
#include "kernels/fp32/reference/reshape.h"
#include "kernels/fp32/reference/softmax.h"
#include "kernels/fp32/reference/transpose.h"

namespace tinyptq {
namespace {

namespace ref = fp32_ref;

std::vector<float> random_floats(std::mt19937& rng, int64_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Row-major index of `idx` in `shape`.
int64_t flat_index(const Shape& shape, const std::vector<int64_t>& idx) {
  int64_t f = 0;
  for (size_t d = 0; d < shape.size(); ++d) f = f * shape[d] + idx[d];
  return f;
}

// Multi-index of flat position f in `shape`.
std::vector<int64_t> unflatten(const Shape& shape, int64_t f) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = f % shape[d];
    f /= shape[d];
  }
  return idx;
}

// First index where got and want differ by more than tol (absolute + relative), or -1.
int64_t first_mismatch(const std::vector<float>& got, const std::vector<double>& want, double tol) {
  if (got.size() != want.size()) return 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::abs(double(got[i]) - want[i]) <= tol * (1.0 + std::abs(want[i])))) return int64_t(i);
  return -1;
}

#define EXPECT_CLOSE(got, want, tol)                                                                  \
  do {                                                                                                \
    const int64_t bad_ = first_mismatch(got, want, tol);                                              \
    EXPECT_EQ(bad_, -1) << "first mismatch at " << bad_ << ": got "                                   \
                        << (bad_ >= 0 && size_t(bad_) < (got).size() ? (got)[bad_] : NAN) << " want " \
                        << (bad_ >= 0 && size_t(bad_) < (want).size() ? (want)[bad_] : NAN);          \
  } while (0)

// ---------------------------------------------------------------------------------------------------
// Window geometry

TEST(Fp32Kernels, WindowOutputSize) {
  // floor((in + pb + pe − dil·(k−1) − 1)/stride) + 1
  EXPECT_EQ(ref::window_output_size(32, 3, 1, 1, 1, 1, false), 32);
  EXPECT_EQ(ref::window_output_size(32, 3, 2, 1, 0, 1, false), 16);
  EXPECT_EQ(ref::window_output_size(7, 3, 2, 2, 0, 0, false), 2);
  EXPECT_EQ(ref::window_output_size(5, 2, 2, 1, 0, 0, false), 2);
  EXPECT_EQ(ref::window_output_size(5, 2, 2, 1, 0, 0, true), 3);
  // Ceil mode drops a last window that would start past input + begin pad: in 4, k 2, s 2, pe 1.
  EXPECT_EQ(ref::window_output_size(4, 2, 2, 1, 0, 1, true), 2);
  EXPECT_THROW(ref::window_output_size(2, 5, 1, 1, 0, 0, false), Error);
}

// ---------------------------------------------------------------------------------------------------
// Conv

struct ConvCase {
  int64_t n, c, h, w, m, k, stride, dilation, group;
  int64_t pt, pl, pb, pr;
  bool bias;
};

std::string describe(const ConvCase& t) {
  std::ostringstream os;
  os << "N" << t.n << " C" << t.c << " H" << t.h << " W" << t.w << " M" << t.m << " k" << t.k << " s"
     << t.stride << " d" << t.dilation << " g" << t.group << " pads " << t.pt << "," << t.pl << "," << t.pb
     << "," << t.pr << (t.bias ? " bias" : "");
  return os.str();
}

// Naive convolution straight from the definition, reading the zero-padded input explicitly.
std::vector<double> naive_conv(const ConvCase& t, const std::vector<float>& x, const std::vector<float>& w,
                               const std::vector<float>& b, int64_t oh_n, int64_t ow_n) {
  const int64_t cg = t.c / t.group, mg = t.m / t.group;
  auto padded = [&](int64_t n, int64_t c, int64_t ph, int64_t pw) -> double {
    const int64_t h = ph - t.pt, ww = pw - t.pl;
    if (h < 0 || h >= t.h || ww < 0 || ww >= t.w) return 0.0;
    return x[((n * t.c + c) * t.h + h) * t.w + ww];
  };
  std::vector<double> y(t.n * t.m * oh_n * ow_n);
  for (int64_t n = 0; n < t.n; ++n)
    for (int64_t m = 0; m < t.m; ++m)
      for (int64_t oh = 0; oh < oh_n; ++oh)
        for (int64_t ow = 0; ow < ow_n; ++ow) {
          double acc = t.bias ? b[m] : 0.0;
          const int64_t g = m / mg;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t i = 0; i < t.k; ++i)
              for (int64_t j = 0; j < t.k; ++j)
                acc += padded(n, g * cg + c, oh * t.stride + i * t.dilation, ow * t.stride + j * t.dilation) *
                       w[((m * cg + c) * t.k + i) * t.k + j];
          y[((n * t.m + m) * oh_n + oh) * ow_n + ow] = acc;
        }
  return y;
}

TEST(Fp32Kernels, Conv2dSweep) {
  std::mt19937 rng(1);
  std::vector<ConvCase> cases;
  for (int64_t n : {1, 3})
    for (int64_t k : {1, 3})
      for (int64_t stride : {1, 2})
        for (int64_t dilation : {1, 2})
          for (int64_t group : {1, 2, 4}) {
            cases.push_back({n, 4, 7, 6, 8, k, stride, dilation, group, 0, 0, 0, 0, true});
            cases.push_back({n, 4, 6, 9, 4, k, stride, dilation, group, 1, 0, 2, 1, false});  // asymmetric
            cases.push_back({n, 4, 5, 5, 4, k, stride, dilation, group, k / 2, k / 2, k / 2, k / 2, true});
          }
  cases.push_back({2, 3, 8, 8, 5, 5, 3, 1, 1, 2, 1, 0, 2, true});  // 5×5, stride 3
  for (const ConvCase& t : cases) {
    SCOPED_TRACE(describe(t));
    ref::Window2d win;
    win.kernel_h = win.kernel_w = t.k;
    win.stride_h = win.stride_w = t.stride;
    win.dilation_h = win.dilation_w = t.dilation;
    win.pad_top = t.pt, win.pad_left = t.pl, win.pad_bottom = t.pb, win.pad_right = t.pr;
    const Shape xs{t.n, t.c, t.h, t.w}, ws{t.m, t.c / t.group, t.k, t.k};
    const auto p = ref::make_conv2d_params(xs, ws, win, t.group);
    const int64_t oh = (t.h + t.pt + t.pb - t.dilation * (t.k - 1) - 1) / t.stride + 1;
    const int64_t ow = (t.w + t.pl + t.pr - t.dilation * (t.k - 1) - 1) / t.stride + 1;
    ASSERT_EQ(ref::conv2d_output_shape(p), (Shape{t.n, t.m, oh, ow}));
    const auto x = random_floats(rng, num_elements(xs));
    const auto w = random_floats(rng, num_elements(ws));
    const auto b = random_floats(rng, t.m);
    std::vector<float> y(num_elements(ref::conv2d_output_shape(p)), NAN);
    ref::conv2d(p, x.data(), w.data(), t.bias ? b.data() : nullptr, y.data());
    EXPECT_CLOSE(y, naive_conv(t, x, w, b, oh, ow), 1e-5);
  }
}

TEST(Fp32Kernels, Conv2dRejectsInconsistentShapes) {
  ref::Window2d win;
  win.kernel_h = win.kernel_w = 3;
  EXPECT_THROW(ref::make_conv2d_params({1, 3, 8, 8}, {4, 2, 3, 3}, win, 1), Error);  // channels
  EXPECT_THROW(ref::make_conv2d_params({1, 3, 8, 8}, {4, 1, 3, 3}, win, 2), Error);  // 3 % 2
  EXPECT_THROW(ref::make_conv2d_params({1, 4, 8, 8}, {4, 4, 1, 1}, win, 1), Error);  // kernel mismatch
  EXPECT_THROW(ref::make_conv2d_params({1, 4, 2, 2}, {4, 4, 3, 3}, win, 1), Error);  // input too small
  EXPECT_THROW(ref::make_conv2d_params({1, 4, 8}, {4, 4, 3, 3}, win, 1), Error);     // rank
}

// ---------------------------------------------------------------------------------------------------
// BatchNorm, Relu, Clip

TEST(Fp32Kernels, BatchNorm) {
  std::mt19937 rng(2);
  for (const Shape& xs : {Shape{1, 3, 4, 5}, Shape{3, 5, 2, 2}, Shape{2, 4}}) {
    SCOPED_TRACE(shape_str(xs));
    const int64_t c = xs[1], inner = num_elements(xs) / (xs[0] * c);
    const auto x = random_floats(rng, num_elements(xs), -3, 3);
    const auto scale = random_floats(rng, c), bias = random_floats(rng, c), mean = random_floats(rng, c);
    const auto var = random_floats(rng, c, 0.1f, 2.0f);
    const float eps = 1e-3f;
    const auto p = ref::make_batchnorm_params(xs, {c}, {c}, {c}, {c}, eps);
    std::vector<float> y(x.size());
    ref::batchnorm(p, x.data(), scale.data(), bias.data(), mean.data(), var.data(), y.data());
    std::vector<double> want(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      const int64_t ch = (int64_t(i) / inner) % c;
      want[i] = (double(x[i]) - mean[ch]) * scale[ch] / std::sqrt(double(var[ch]) + eps) + bias[ch];
    }
    EXPECT_CLOSE(y, want, 1e-5);
  }
  EXPECT_THROW(ref::make_batchnorm_params({1, 3, 2, 2}, {3}, {3}, {4}, {3}, 1e-5f), Error);
}

TEST(Fp32Kernels, ReluAndClip) {
  const std::vector<float> x{-2.0f, -0.0f, 0.5f, 3.0f, 7.0f, NAN};
  std::vector<float> y(x.size());
  ref::relu(int64_t(x.size()), x.data(), y.data());
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[2], 0.5f);
  EXPECT_EQ(y[4], 7.0f);
  EXPECT_TRUE(std::isnan(y[5]));
  ref::clip({int64_t(x.size()), 0.0f, 6.0f}, x.data(), y.data());
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[2], 0.5f);
  EXPECT_EQ(y[3], 3.0f);
  EXPECT_EQ(y[4], 6.0f);
  EXPECT_TRUE(std::isnan(y[5]));
  ref::clip({int64_t(x.size()), -INFINITY, 1.0f}, x.data(), y.data());
  EXPECT_EQ(y[0], -2.0f);
  EXPECT_EQ(y[4], 1.0f);
}

// ---------------------------------------------------------------------------------------------------
// Broadcast Add / Sub / Mul

TEST(Fp32Kernels, ElementwiseBroadcast) {
  std::mt19937 rng(3);
  struct Pair {
    Shape a, b, out;
  };
  const std::vector<Pair> pairs{
      {{2, 3, 4, 5}, {2, 3, 4, 5}, {2, 3, 4, 5}},
      {{2, 3, 4, 5}, {5}, {2, 3, 4, 5}},
      {{2, 3, 1, 5}, {1, 1, 4, 1}, {2, 3, 4, 5}},
      {{3, 1}, {1, 4}, {3, 4}},
      {{}, {2, 2}, {2, 2}},
      {{4, 1, 3}, {2, 1}, {4, 2, 3}},
      {{1, 8, 1, 1}, {3, 8, 2, 2}, {3, 8, 2, 2}},
      {{0, 3}, {1, 3}, {0, 3}},
  };
  for (const Pair& pr : pairs) {
    SCOPED_TRACE(shape_str(pr.a) + " with " + shape_str(pr.b));
    const auto p = ref::make_broadcast_params(pr.a, pr.b);
    ASSERT_EQ(p.out_shape, pr.out);
    const auto a = random_floats(rng, num_elements(pr.a)), b = random_floats(rng, num_elements(pr.b));
    // Source index of an output multi-index: right-aligned, size-1 axes pinned to 0.
    auto source = [&](const Shape& s, const std::vector<int64_t>& out_idx) {
      std::vector<int64_t> idx(s.size());
      for (size_t d = 0; d < s.size(); ++d) {
        const int64_t o = out_idx[out_idx.size() - s.size() + d];
        idx[d] = s[d] == 1 ? 0 : o;
      }
      return flat_index(s, idx);
    };
    for (auto op : {ref::BinaryOp::kAdd, ref::BinaryOp::kSub, ref::BinaryOp::kMul}) {
      std::vector<float> y(p.out_count, NAN);
      ref::elementwise_binary(p, op, a.data(), b.data(), y.data());
      std::vector<double> want(p.out_count);
      for (int64_t i = 0; i < p.out_count; ++i) {
        const auto idx = unflatten(pr.out, i);
        const double u = a[source(pr.a, idx)], v = b[source(pr.b, idx)];
        want[i] = op == ref::BinaryOp::kAdd ? u + v : op == ref::BinaryOp::kSub ? u - v : u * v;
      }
      EXPECT_CLOSE(y, want, 1e-6);
    }
  }
  EXPECT_THROW(ref::make_broadcast_params({2, 3}, {4}), Error);
  EXPECT_THROW(ref::make_broadcast_params({2, 3, 4}, {3, 1, 2}), Error);
}

// ---------------------------------------------------------------------------------------------------
// Pools

struct PoolCase {
  int64_t n, c, h, w, k, stride, dilation, pt, pl, pb, pr;
  bool ceil_mode, include_pad;
};

std::string describe(const PoolCase& t) {
  std::ostringstream os;
  os << "N" << t.n << " C" << t.c << " " << t.h << "x" << t.w << " k" << t.k << " s" << t.stride << " d"
     << t.dilation << " pads " << t.pt << "," << t.pl << "," << t.pb << "," << t.pr
     << (t.ceil_mode ? " ceil" : "") << (t.include_pad ? " include_pad" : "");
  return os.str();
}

std::vector<PoolCase> pool_cases() {
  std::vector<PoolCase> cases;
  for (int64_t n : {1, 3})
    for (int64_t k : {1, 2, 3})
      for (int64_t stride : {1, 2})
        for (bool ceil_mode : {false, true})
          for (bool include_pad : {false, true}) {
            cases.push_back({n, 2, 7, 6, k, stride, 1, 0, 0, 0, 0, ceil_mode, include_pad});
            if (k > 1) cases.push_back({n, 2, 6, 7, k, stride, 1, 1, 0, 0, 1, ceil_mode, include_pad});
            if (k == 3) cases.push_back({n, 2, 8, 5, k, stride, 1, 1, 1, 2, 2, ceil_mode, include_pad});
          }
  cases.push_back({2, 3, 9, 9, 2, 2, 2, 1, 0, 1, 1, false, false});  // dilated
  cases.push_back({1, 1, 9, 8, 3, 2, 2, 0, 2, 2, 0, true, true});
  return cases;
}

// Window sizes by direct definition: positions t = o·s − pb + j·d; the padded extent is [−pb, in + pe).
struct Taps {
  std::vector<int64_t> in_input;  // tap positions inside [0, in)
  int64_t in_padded = 0;          // taps inside [−pb, in + pe)
};
Taps taps(int64_t o, int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
  Taps t;
  for (int64_t j = 0; j < k; ++j) {
    const int64_t pos = o * s - pb + j * d;
    if (pos >= 0 && pos < in) t.in_input.push_back(pos);
    if (pos >= -pb && pos < in + pe) ++t.in_padded;
  }
  return t;
}

TEST(Fp32Kernels, PoolSweep) {
  std::mt19937 rng(4);
  for (const PoolCase& t : pool_cases()) {
    SCOPED_TRACE(describe(t));
    ref::Window2d win;
    win.kernel_h = win.kernel_w = t.k;
    win.stride_h = win.stride_w = t.stride;
    win.dilation_h = win.dilation_w = t.dilation;
    win.pad_top = t.pt, win.pad_left = t.pl, win.pad_bottom = t.pb, win.pad_right = t.pr;
    win.ceil_mode = t.ceil_mode;
    const Shape xs{t.n, t.c, t.h, t.w};
    const auto p = ref::make_pool2d_params(xs, win);
    const auto x = random_floats(rng, num_elements(xs), -5, 5);
    std::vector<float> avg(num_elements(ref::pool2d_output_shape(p))), mx(avg.size());
    ref::averagepool(p, t.include_pad, x.data(), avg.data());
    ref::maxpool(p, x.data(), mx.data());
    std::vector<double> want_avg(avg.size()), want_max(avg.size());
    for (int64_t nc = 0; nc < t.n * t.c; ++nc)
      for (int64_t oh = 0; oh < p.out_h; ++oh)
        for (int64_t ow = 0; ow < p.out_w; ++ow) {
          const Taps th = taps(oh, t.h, t.k, t.stride, t.dilation, t.pt, t.pb);
          const Taps tw = taps(ow, t.w, t.k, t.stride, t.dilation, t.pl, t.pr);
          double sum = 0, best = -INFINITY;
          for (int64_t ih : th.in_input)
            for (int64_t iw : tw.in_input) {
              const double v = x[(nc * t.h + ih) * t.w + iw];
              sum += v;
              best = std::max(best, v);
            }
          const double count = t.include_pad ? double(th.in_padded * tw.in_padded)
                                             : double(th.in_input.size() * tw.in_input.size());
          want_avg[(nc * p.out_h + oh) * p.out_w + ow] = sum / count;
          want_max[(nc * p.out_h + oh) * p.out_w + ow] = best;
        }
    EXPECT_CLOSE(avg, want_avg, 1e-6);
    EXPECT_CLOSE(mx, want_max, 0.0);
  }
}

TEST(Fp32Kernels, PoolHandExample) {
  // 3×3 input 1..9, kernel 2, stride 2, ceil mode → 2×2 output; the last row/column windows hang off the end.
  ref::Window2d win;
  win.kernel_h = win.kernel_w = 2;
  win.stride_h = win.stride_w = 2;
  win.ceil_mode = true;
  const auto p = ref::make_pool2d_params({1, 1, 3, 3}, win);
  ASSERT_EQ(ref::pool2d_output_shape(p), (Shape{1, 1, 2, 2}));
  const std::vector<float> x{1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<float> y(4);
  ref::averagepool(p, false, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{3.0f, 4.5f, 7.5f, 9.0f}));
  ref::averagepool(p, true, x.data(), y.data());  // no pads: the hanging taps count neither way
  EXPECT_EQ(y, (std::vector<float>{3.0f, 4.5f, 7.5f, 9.0f}));
  ref::maxpool(p, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{5, 6, 8, 9}));
  // Pad 1 on every side, kernel 3, stride 1, count_include_pad: corner = (1+2+4+5)/9.
  win = ref::Window2d();
  win.kernel_h = win.kernel_w = 3;
  win.pad_top = win.pad_left = win.pad_bottom = win.pad_right = 1;
  const auto q = ref::make_pool2d_params({1, 1, 3, 3}, win);
  std::vector<float> z(9);
  ref::averagepool(q, true, x.data(), z.data());
  EXPECT_FLOAT_EQ(z[0], 12.0f / 9.0f);
  ref::averagepool(q, false, x.data(), z.data());
  EXPECT_FLOAT_EQ(z[0], 12.0f / 4.0f);
  EXPECT_FLOAT_EQ(z[4], 5.0f);
}

TEST(Fp32Kernels, PoolRejectsBadWindows) {
  ref::Window2d win;
  win.kernel_h = win.kernel_w = 2;
  win.pad_top = 2;  // pad not smaller than the kernel
  EXPECT_THROW(ref::make_pool2d_params({1, 1, 4, 4}, win), Error);
  win.pad_top = 0;
  EXPECT_THROW(ref::make_pool2d_params({1, 1, 4}, win), Error);
}

TEST(Fp32Kernels, GlobalAveragePool) {
  std::mt19937 rng(5);
  const Shape xs{3, 4, 5, 6};
  const auto x = random_floats(rng, num_elements(xs));
  const auto p = ref::make_global_averagepool_params(xs);
  EXPECT_EQ(p.out_shape, (Shape{3, 4, 1, 1}));
  std::vector<float> y(12);
  ref::global_averagepool(p, x.data(), y.data());
  std::vector<double> want(12, 0.0);
  for (size_t i = 0; i < x.size(); ++i) want[i / 30] += x[i] / 30.0;
  EXPECT_CLOSE(y, want, 1e-6);
  EXPECT_THROW(ref::make_global_averagepool_params({3, 4}), Error);
}

// ---------------------------------------------------------------------------------------------------
// Gemm, MatMul

TEST(Fp32Kernels, GemmSweep) {
  std::mt19937 rng(6);
  const int64_t m = 3, n = 5, k = 7;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (const Shape& cs :
           {Shape{}, Shape{n}, Shape{1, n}, Shape{m, 1}, Shape{m, n}, Shape{1}, Shape{-2}}) {
        const bool has_c = cs != Shape{-2};
        SCOPED_TRACE(std::string(ta ? "A^T " : "A ") + (tb ? "B^T " : "B ") + "C " +
                     (has_c ? shape_str(cs) : "none"));
        const Shape as = ta ? Shape{k, m} : Shape{m, k}, bs = tb ? Shape{n, k} : Shape{k, n};
        const float alpha = 0.75f, beta = 1.5f;
        const auto p = ref::make_gemm_params(as, bs, has_c ? &cs : nullptr, ta, tb, alpha, beta);
        ASSERT_EQ(p.m, m);
        ASSERT_EQ(p.n, n);
        const auto a = random_floats(rng, m * k), b = random_floats(rng, k * n);
        const auto c = random_floats(rng, has_c ? num_elements(cs) : 0);
        std::vector<float> y(m * n);
        ref::gemm(p, a.data(), b.data(), has_c ? c.data() : nullptr, y.data());
        std::vector<double> want(m * n);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double acc = 0;
            for (int64_t q = 0; q < k; ++q)
              acc += double(ta ? a[q * m + i] : a[i * k + q]) * (tb ? b[j * k + q] : b[q * n + j]);
            double cv = 0;
            if (has_c) {
              const int64_t rows = cs.size() == 2 ? cs[0] : 1, cols = cs.empty() ? 1 : cs.back();
              cv = c[(rows == 1 ? 0 : i) * cols + (cols == 1 ? 0 : j)];
            }
            want[i * n + j] = alpha * acc + beta * cv;
          }
        EXPECT_CLOSE(y, want, 1e-5);
      }
  const Shape bad_c{2, 5};
  EXPECT_THROW(ref::make_gemm_params({3, 7}, {6, 5}, nullptr, false, false, 1, 1), Error);
  EXPECT_THROW(ref::make_gemm_params({3, 7}, {7, 5}, &bad_c, false, false, 1, 1), Error);
  EXPECT_THROW(ref::make_gemm_params({3, 7, 1}, {7, 5}, nullptr, false, false, 1, 1), Error);
}

TEST(Fp32Kernels, MatMulBroadcast) {
  std::mt19937 rng(7);
  struct Case {
    Shape a, b, out;
  };
  for (const Case& t : std::vector<Case>{{{3, 4}, {4, 2}, {3, 2}},
                                         {{2, 1, 3, 4}, {5, 4, 2}, {2, 5, 3, 2}},
                                         {{2, 3, 4}, {4, 6}, {2, 3, 6}},
                                         {{4}, {2, 4, 3}, {2, 3}},
                                         {{3, 4}, {4}, {3}}}) {
    SCOPED_TRACE(shape_str(t.a) + " x " + shape_str(t.b));
    const auto p = ref::make_matmul_params(t.a, t.b);
    ASSERT_EQ(p.out_shape, t.out);
    const auto a = random_floats(rng, num_elements(t.a)), b = random_floats(rng, num_elements(t.b));
    std::vector<float> y(num_elements(t.out));
    ref::matmul(p, a.data(), b.data(), y.data());
    // Promote 1-D operands, broadcast batch indices by hand.
    Shape as = t.a, bs = t.b;
    if (as.size() == 1) as.insert(as.begin(), 1);
    if (bs.size() == 1) bs.push_back(1);
    const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
    const size_t rank = std::max(as.size(), bs.size());
    Shape full(rank - 2, 1);
    for (size_t d = 0; d + 2 < rank; ++d) {
      const int64_t da = d + as.size() >= rank ? as[d + as.size() - rank] : 1;
      const int64_t db = d + bs.size() >= rank ? bs[d + bs.size() - rank] : 1;
      full[d] = std::max(da, db);
    }
    full.push_back(m);
    full.push_back(n);
    std::vector<double> want(num_elements(full));
    for (int64_t f = 0; f < int64_t(want.size()); ++f) {
      const auto idx = unflatten(full, f);
      auto pick = [&](const Shape& s, int64_t r, int64_t c) {
        std::vector<int64_t> si(s.size());
        for (size_t d = 0; d + 2 < s.size(); ++d) si[d] = s[d] == 1 ? 0 : idx[d + rank - s.size()];
        si[s.size() - 2] = r;
        si[s.size() - 1] = c;
        return flat_index(s, si);
      };
      double acc = 0;
      for (int64_t q = 0; q < k; ++q)
        acc += double(a[pick(as, idx[rank - 2], q)]) * b[pick(bs, q, idx[rank - 1])];
      want[f] = acc;
    }
    EXPECT_CLOSE(y, want, 1e-5);
  }
  EXPECT_THROW(ref::make_matmul_params({3, 4}, {5, 2}), Error);
  EXPECT_THROW(ref::make_matmul_params({2, 3, 4}, {3, 4, 2}), Error);
}

// ---------------------------------------------------------------------------------------------------
// Softmax, Transpose, Reshape/Flatten

TEST(Fp32Kernels, SoftmaxAlongEachAxis) {
  std::mt19937 rng(8);
  const Shape xs{2, 3, 4};
  const auto x = random_floats(rng, num_elements(xs), -4, 4);
  for (int64_t axis : {0, 1, 2, -1, -3}) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    const auto p = ref::make_softmax_params(xs, axis);
    std::vector<float> y(x.size());
    ref::softmax(p, x.data(), y.data());
    const size_t ax = size_t(axis < 0 ? axis + 3 : axis);
    std::vector<double> want(x.size());
    for (int64_t f = 0; f < int64_t(x.size()); ++f) {
      auto idx = unflatten(xs, f);
      double denom = 0;
      for (int64_t a = 0; a < xs[ax]; ++a) {
        idx[ax] = a;
        denom += std::exp(double(x[flat_index(xs, idx)]));
      }
      want[f] = std::exp(double(x[f])) / denom;
    }
    EXPECT_CLOSE(y, want, 1e-6);
  }
  EXPECT_THROW(ref::make_softmax_params(xs, 3), Error);
  EXPECT_THROW(ref::make_softmax_params(xs, -4), Error);
}

TEST(Fp32Kernels, SoftmaxIsStableForLargeLogits) {
  const std::vector<float> x{1000.0f, 1001.0f, 1002.0f, -1000.0f};
  std::vector<float> y(4);
  ref::softmax(ref::make_softmax_params({1, 4}, 1), x.data(), y.data());
  const double e0 = std::exp(-2.0), e1 = std::exp(-1.0), s = e0 + e1 + 1.0;
  EXPECT_NEAR(y[0], e0 / s, 1e-7);
  EXPECT_NEAR(y[1], e1 / s, 1e-7);
  EXPECT_NEAR(y[2], 1.0 / s, 1e-7);
  EXPECT_EQ(y[3], 0.0f);
}

TEST(Fp32Kernels, TransposeAnyPerm) {
  std::mt19937 rng(9);
  const Shape xs{2, 3, 4, 5};
  const auto x = random_floats(rng, num_elements(xs));
  std::vector<int64_t> xi(x.size());
  for (size_t i = 0; i < xi.size(); ++i) xi[i] = int64_t(i) * 3 - 7;
  std::vector<std::vector<int64_t>> perms{{0, 1, 2, 3}, {0, 2, 3, 1}, {0, 3, 1, 2},
                                          {3, 2, 1, 0}, {1, 0, 3, 2}, {}};
  for (const auto& perm_in : perms) {
    SCOPED_TRACE("perm " + shape_str(perm_in));
    const std::vector<int64_t> perm = perm_in.empty() ? std::vector<int64_t>{3, 2, 1, 0} : perm_in;
    const auto p = ref::make_transpose_params(xs, perm_in);
    Shape out;
    for (int64_t d : perm) out.push_back(xs[d]);
    ASSERT_EQ(p.out_shape, out);
    std::vector<float> y(x.size());
    std::vector<int64_t> yi(x.size());
    ref::transpose(p, x.data(), y.data());
    ref::transpose(p, xi.data(), yi.data());
    for (int64_t f = 0; f < int64_t(y.size()); ++f) {
      const auto oi = unflatten(out, f);
      std::vector<int64_t> ii(4);
      for (size_t d = 0; d < 4; ++d) ii[perm[d]] = oi[d];
      ASSERT_EQ(y[f], x[flat_index(xs, ii)]) << "at " << f;
      ASSERT_EQ(yi[f], xi[flat_index(xs, ii)]) << "at " << f;
    }
  }
  EXPECT_THROW(ref::make_transpose_params(xs, {0, 1, 2}), Error);
  EXPECT_THROW(ref::make_transpose_params(xs, {0, 1, 1, 2}), Error);
  EXPECT_THROW(ref::make_transpose_params(xs, {0, 1, 2, 4}), Error);
}

TEST(Fp32Kernels, ReshapeAndFlattenShapes) {
  EXPECT_EQ(ref::reshape_output_shape({2, 3, 4}, {0, -1}), (Shape{2, 12}));
  EXPECT_EQ(ref::reshape_output_shape({2, 3, 4}, {-1}), (Shape{24}));
  EXPECT_EQ(ref::reshape_output_shape({2, 3, 4}, {4, 0, 2}), (Shape{4, 3, 2}));
  EXPECT_EQ(ref::reshape_output_shape({5, 8, 1, 1}, {0, 8}), (Shape{5, 8}));
  EXPECT_THROW(ref::reshape_output_shape({2, 3, 4}, {5, -1}), Error);
  EXPECT_THROW(ref::reshape_output_shape({2, 3, 4}, {-1, -1}), Error);
  EXPECT_THROW(ref::reshape_output_shape({2, 3, 4}, {2, 3, 5}), Error);
  EXPECT_THROW(ref::reshape_output_shape({2, 3}, {0, 0, 0}), Error);
  EXPECT_THROW(ref::reshape_output_shape({2, 3}, {-2, 3}), Error);
  EXPECT_EQ(ref::flatten_output_shape({2, 3, 4, 5}, 1), (Shape{2, 60}));
  EXPECT_EQ(ref::flatten_output_shape({2, 3, 4, 5}, 0), (Shape{1, 120}));
  EXPECT_EQ(ref::flatten_output_shape({2, 3, 4, 5}, 4), (Shape{120, 1}));
  EXPECT_EQ(ref::flatten_output_shape({2, 3, 4, 5}, -1), (Shape{24, 5}));
  EXPECT_THROW(ref::flatten_output_shape({2, 3}, 3), Error);
}

// ---------------------------------------------------------------------------------------------------
// QuantizeLinear / DequantizeLinear

TEST(Fp32Kernels, QuantizeRoundsHalfToEvenAndSaturates) {
  const std::vector<float> x{0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.49f, 300.0f, -300.0f, NAN};
  const float scale = 1.0f;
  std::vector<int64_t> q(x.size());
  const auto p8 = ref::make_quant_params({int64_t(x.size())}, {}, nullptr, 1, DType::kInt8);
  ref::quantize_linear(p8, x.data(), &scale, nullptr, q.data());
  EXPECT_EQ(q, (std::vector<int64_t>{0, 2, 2, 0, -2, -2, 0, 127, -128, 0}));
  const int64_t zp = 128;
  const Shape scalar{};
  const auto pu = ref::make_quant_params({int64_t(x.size())}, {}, &scalar, 1, DType::kUint8);
  ref::quantize_linear(pu, x.data(), &scale, &zp, q.data());
  EXPECT_EQ(q, (std::vector<int64_t>{128, 130, 130, 128, 126, 126, 128, 255, 0, 128}));
  std::vector<float> back(x.size());
  ref::dequantize_linear(pu, q.data(), &scale, &zp, back.data());
  EXPECT_EQ(back[1], 2.0f);
  EXPECT_EQ(back[7], 127.0f);
  EXPECT_EQ(back[8], -128.0f);
}

TEST(Fp32Kernels, QuantizePerAxisMatchesFormula) {
  std::mt19937 rng(10);
  const Shape xs{2, 3, 2, 2};
  const auto x = random_floats(rng, num_elements(xs), -2, 2);
  const std::vector<float> scale{0.01f, 0.02f, 0.05f};
  const std::vector<int64_t> zp{-3, 0, 5};
  const Shape cs{3};
  const auto p = ref::make_quant_params(xs, cs, &cs, 1, DType::kInt8);
  EXPECT_TRUE(p.per_axis);
  std::vector<int64_t> q(x.size());
  ref::quantize_linear(p, x.data(), scale.data(), zp.data(), q.data());
  std::vector<float> y(x.size());
  ref::dequantize_linear(p, q.data(), scale.data(), zp.data(), y.data());
  for (int64_t i = 0; i < int64_t(x.size()); ++i) {
    const int64_t c = (i / 4) % 3;
    const int64_t want = std::clamp<int64_t>(int64_t(std::nearbyint(x[i] / scale[c])) + zp[c], -128, 127);
    ASSERT_EQ(q[i], want) << "at " << i;
    ASSERT_FLOAT_EQ(y[i], float(want - zp[c]) * scale[c]) << "at " << i;
  }
  EXPECT_THROW(ref::make_quant_params(xs, {4}, nullptr, 1, DType::kInt8), Error);
  EXPECT_THROW(ref::make_quant_params(xs, {3}, nullptr, 4, DType::kInt8), Error);
  const Shape zp_bad{2};
  EXPECT_THROW(ref::make_quant_params(xs, {3}, &zp_bad, 1, DType::kInt8), Error);
}

}  // namespace
}  // namespace tinyptq
