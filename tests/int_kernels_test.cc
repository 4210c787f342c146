// int8 kernels vs two oracles: the exact integer formula (acc = bias + Σ (x − zx)(w − zw) in int64, then
// the shared requantization) must match bit for bit; the double-precision formula (dequantize, compute in
// double, requantize) must match within 1 LSB, and exactly wherever the real result is not near a .5 tie.
// Every table (reference, best) is checked, so SIMD kernels added later are covered by the same sweeps.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/fp32/reference/quantize_linear.h"
#include "kernels/int8/kernel_table.h"
#include "quant/requant.h"

namespace tinyptq::int8 {
namespace {

std::vector<const KernelTable*> all_tables() {
  std::vector<const KernelTable*> tables = available_kernels();
  if (std::find(tables.begin(), tables.end(), &best_kernels()) == tables.end())
    tables.push_back(&best_kernels());
  return tables;
}

// round_half_even(v) + zp clamped to [lo, hi], in double.
int32_t quantize_double(double v, int32_t zp, int32_t lo, int32_t hi) {
  const double r = std::nearbyint(v) + zp;
  return int32_t(std::min<double>(std::max<double>(r, lo), hi));
}

// Distance of v from the nearest .5 tie (ties are where float and double rounding may legitimately differ).
double tie_distance(double v) { return std::abs(std::abs(v - std::floor(v)) - 0.5); }

// Checks a kernel result against the double formula: within 1 LSB, exact unless within 1e-3 of a tie.
struct DoubleOracle {
  int64_t checked = 0, near_ties = 0, interior = 0;  // interior: expected value strictly inside (lo, hi)
  std::string first_failure;
  void expect(int32_t got, double real_over_scale, int32_t zp, int32_t lo, int32_t hi,
              const std::string& where) {
    ++checked;
    const int32_t want = quantize_double(real_over_scale, zp, lo, hi);
    interior += want > lo && want < hi;
    const bool near_tie = tie_distance(real_over_scale) < 1e-3;
    near_ties += near_tie;
    const bool ok = near_tie ? std::abs(got - want) <= 1 : got == want;
    if (!ok && first_failure.empty())
      first_failure = where + ": got " + std::to_string(got) + ", double formula gives " +
                      std::to_string(want) + " (real/scale = " + std::to_string(real_over_scale) + ")";
  }
};

// ---- Conv ------------------------------------------------------------------------------------------------

struct ConvCase {
  int64_t batch = 1, in_h = 5, in_w = 5, in_c = 3, out_c = 4, groups = 1;
  int64_t kernel_h = 3, kernel_w = 3, stride = 1, dilation = 1;
  int64_t pad_top = 1, pad_left = 1, pad_bottom = 1, pad_right = 1;
  int32_t input_zero_point = 128, output_zero_point = 128, output_min = 0, output_max = 255;
  bool per_channel = true, asymmetric_weights = false;
  int x_fill = -1, w_fill = 1000;  // fixed values instead of random ones (-1 / 1000: random)
  uint32_t seed = 1;

  std::string str() const {
    std::ostringstream s;
    s << "conv N" << batch << " " << in_h << "x" << in_w << "x" << in_c << " -> " << out_c << " g" << groups
      << " k" << kernel_h << "x" << kernel_w << " s" << stride << " d" << dilation << " pads(" << pad_top
      << "," << pad_left << "," << pad_bottom << "," << pad_right << ") zx" << input_zero_point << " zy"
      << output_zero_point << (per_channel ? " per-channel" : " per-tensor")
      << (asymmetric_weights ? " asym-w" : "") << " seed" << seed;
    return s.str();
  }
};

struct ConvData {
  ConvParams params;
  std::vector<uint8_t> x;
  std::vector<int8_t> w;  // OIHW
  std::vector<int32_t> bias, weight_zero_points;
  std::vector<float> weight_scales, multipliers;
  float input_scale = 0, output_scale = 0;
};

ConvData make_conv(const ConvCase& c) {
  std::mt19937 rng(c.seed);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto real = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  ConvData d;
  Window2d win;
  win.kernel_h = c.kernel_h, win.kernel_w = c.kernel_w, win.stride_h = win.stride_w = c.stride;
  win.dilation_h = win.dilation_w = c.dilation;
  win.pad_top = c.pad_top, win.pad_left = c.pad_left, win.pad_bottom = c.pad_bottom,
  win.pad_right = c.pad_right;
  d.params.shape = make_conv_shape(c.in_h, c.in_w, c.in_c, c.out_c, c.groups, win);
  d.params.input_zero_point = c.input_zero_point;
  d.params.output = {c.output_zero_point, c.output_min, c.output_max};
  d.x.resize(c.batch * c.in_h * c.in_w * c.in_c);
  for (auto& v : d.x) v = uint8_t(c.x_fill >= 0 ? c.x_fill : uniform(0, 255));
  d.w.resize(c.out_c * d.params.shape.taps());
  for (auto& v : d.w) v = int8_t(c.w_fill != 1000 ? c.w_fill : uniform(-128, 127));
  d.input_scale = float(real(0.005, 0.05));
  const float shared_scale = float(real(0.001, 0.02));
  for (int64_t oc = 0; oc < c.out_c; ++oc) {
    d.weight_scales.push_back(c.per_channel ? float(real(0.001, 0.02)) : shared_scale);
    d.weight_zero_points.push_back(c.asymmetric_weights ? uniform(-128, 127) : 0);
    d.bias.push_back(uniform(-20000, 20000));
  }
  return d;
}

int64_t conv_exact_acc(const ConvData& d, int64_t n, int64_t oy, int64_t ox, int64_t oc);

// Output scale such that the largest |real output| is 120 codes (outputs spread over the range), then
// the multipliers M[c] = s_x·s_w[c]/s_y.
void set_output_scale(ConvData& d, int64_t batch) {
  const ConvShape& s = d.params.shape;
  double max_real = 1e-6;
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t oy = 0; oy < s.out_h; ++oy)
      for (int64_t ox = 0; ox < s.out_w; ++ox)
        for (int64_t oc = 0; oc < s.out_c; ++oc)
          max_real = std::max(max_real, std::abs(double(conv_exact_acc(d, n, oy, ox, oc)) * d.input_scale *
                                                 d.weight_scales[oc]));
  d.output_scale = float(max_real / 120);
  d.multipliers.clear();
  for (int64_t oc = 0; oc < s.out_c; ++oc)
    d.multipliers.push_back(float(double(d.input_scale) * d.weight_scales[oc] / d.output_scale));
}

// Exact accumulator: bias + Σ over taps inside the input of (x − zx)(w − zw), in int64.
int64_t conv_exact_acc(const ConvData& d, int64_t n, int64_t oy, int64_t ox, int64_t oc) {
  const ConvShape& s = d.params.shape;
  const Window2d& win = s.window;
  const int64_t g = oc / s.out_per_group(), cpg = s.in_per_group();
  int64_t acc = d.bias[oc];
  for (int64_t ic = 0; ic < cpg; ++ic)
    for (int64_t ky = 0; ky < win.kernel_h; ++ky)
      for (int64_t kx = 0; kx < win.kernel_w; ++kx) {
        const int64_t iy = oy * win.stride_h - win.pad_top + ky * win.dilation_h;
        const int64_t ix = ox * win.stride_w - win.pad_left + kx * win.dilation_w;
        if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) continue;
        const int64_t xv = d.x[((n * s.in_h + iy) * s.in_w + ix) * s.in_c + g * cpg + ic];
        const int64_t wv = d.w[((oc * cpg + ic) * win.kernel_h + ky) * win.kernel_w + kx];
        acc += (xv - d.params.input_zero_point) * (wv - d.weight_zero_points[oc]);
      }
  return acc;
}

// Runs the table's conv on all rows at once and, split in two row ranges, checks both against the oracles.
void check_conv(const KernelTable& table, const ConvCase& c) {
  SCOPED_TRACE(std::string(table.isa) + " " + c.str());
  ConvData d = make_conv(c);
  set_output_scale(d, c.batch);
  const ConvShape& s = d.params.shape;
  ASSERT_TRUE(fits_int32_accumulator(s.taps(), d.bias.data(), s.out_c));
  PackedWeights packed;
  table.conv.pack(d.params, {d.w.data(), d.bias.data(), d.weight_zero_points.data(), d.multipliers.data()},
                  &packed);
  d.params.weights = &packed;
  std::vector<uint8_t> scratch(table.conv.scratch_bytes(d.params) + 1);
  const int64_t out_count = c.batch * s.out_h * s.out_w * s.out_c;
  std::vector<uint8_t> y(out_count, 0xAB), y_split(out_count, 0xCD);
  table.conv.run(d.params, d.x.data(), y.data(), c.batch, {0, s.out_h}, scratch.data());
  const int64_t mid = s.out_h / 2;
  table.conv.run(d.params, d.x.data(), y_split.data(), c.batch, {0, mid}, scratch.data());
  table.conv.run(d.params, d.x.data(), y_split.data(), c.batch, {mid, s.out_h}, scratch.data());
  ASSERT_EQ(y, y_split) << "splitting the rows changed the result";

  DoubleOracle oracle;
  std::string first_exact_failure;
  for (int64_t n = 0; n < c.batch; ++n)
    for (int64_t oy = 0; oy < s.out_h; ++oy)
      for (int64_t ox = 0; ox < s.out_w; ++ox)
        for (int64_t oc = 0; oc < s.out_c; ++oc) {
          const int64_t acc = conv_exact_acc(d, n, oy, ox, oc);
          const int32_t got = y[((n * s.out_h + oy) * s.out_w + ox) * s.out_c + oc];
          const std::string where = "n" + std::to_string(n) + " y" + std::to_string(oy) + " x" +
                                    std::to_string(ox) + " c" + std::to_string(oc);
          const int32_t exact = requantize_float(int32_t(acc), d.multipliers[oc], c.output_zero_point,
                                                 c.output_min, c.output_max);
          if (got != exact && first_exact_failure.empty())
            first_exact_failure = where + ": got " + std::to_string(got) + ", exact formula gives " +
                                  std::to_string(exact) + " (acc " + std::to_string(acc) + ")";
          const double real_over_scale =
              double(acc) * double(d.input_scale) * double(d.weight_scales[oc]) / double(d.output_scale);
          oracle.expect(got, real_over_scale, c.output_zero_point, c.output_min, c.output_max, where);
        }
  EXPECT_EQ(first_exact_failure, "");
  EXPECT_EQ(oracle.first_failure, "");
  if (c.output_zero_point > 64 && c.output_zero_point < 192 && c.output_min == 0) {
    EXPECT_GE(oracle.interior * 3, oracle.checked) << "too many outputs saturate for the sweep to mean much";
  }
}

TEST(IntConvKernel, SweepOfShapes) {
  uint32_t seed = 0;
  int cases = 0;
  for (const KernelTable* table : all_tables())
    for (int64_t kernel : {1, 3})
      for (int64_t stride : {1, 2})
        for (int64_t in_c : {1, 3, 8})
          for (int64_t out_c : {1, 5})
            for (int64_t batch : {1, 7}) {
              ConvCase c;
              c.kernel_h = c.kernel_w = kernel;
              c.stride = stride;
              c.in_c = in_c, c.out_c = out_c, c.batch = batch;
              c.in_h = 6, c.in_w = 7;
              c.pad_top = kernel / 2, c.pad_left = 0, c.pad_bottom = 0,
              c.pad_right = kernel / 2 + (stride - 1);
              c.per_channel = (seed % 2) == 0;
              c.asymmetric_weights = (seed % 3) == 0;
              c.input_zero_point = int32_t((seed * 37) % 256);
              c.output_zero_point = int32_t((seed * 91) % 256);
              c.seed = ++seed;
              check_conv(*table, c);
              ++cases;
            }
  EXPECT_EQ(cases, int(all_tables().size()) * 2 * 2 * 3 * 2 * 2);
}

TEST(IntConvKernel, GroupsDepthwiseDilationAndAsymmetricPads) {
  for (const KernelTable* table : all_tables()) {
    ConvCase depthwise;
    depthwise.in_c = depthwise.out_c = depthwise.groups = 5;
    depthwise.seed = 11;
    check_conv(*table, depthwise);

    ConvCase multiplier = depthwise;  // depthwise with channel multiplier 2
    multiplier.out_c = 10;
    multiplier.stride = 2;
    multiplier.seed = 12;
    check_conv(*table, multiplier);

    ConvCase grouped;
    grouped.in_c = 6, grouped.out_c = 9, grouped.groups = 3;
    grouped.kernel_h = 2, grouped.kernel_w = 3;
    grouped.pad_top = 0, grouped.pad_left = 2, grouped.pad_bottom = 1, grouped.pad_right = 0;
    grouped.asymmetric_weights = true;
    grouped.seed = 13;
    check_conv(*table, grouped);

    ConvCase dilated;
    dilated.in_h = dilated.in_w = 9;
    dilated.dilation = 2;
    dilated.pad_top = dilated.pad_left = dilated.pad_bottom = dilated.pad_right = 2;
    dilated.output_min = dilated.output_zero_point = 100;  // fused Relu: clamp at the zero point
    dilated.seed = 14;
    check_conv(*table, dilated);
  }
}

TEST(IntConvKernel, ZeroPointsAtTheExtremes) {
  for (const KernelTable* table : all_tables())
    for (int32_t zx : {0, 255})
      for (int32_t zy : {0, 255}) {
        ConvCase c;
        c.input_zero_point = zx, c.output_zero_point = zy;
        c.asymmetric_weights = true;
        c.seed = uint32_t(100 + zx + zy);
        check_conv(*table, c);
      }
}

TEST(IntConvKernel, WorstCaseSaturatingValues) {
  // All activations 255, all weights −128, K = 3·3·64: the largest |Σ (x − zx)(w − zw)| possible. A small
  // multiplier keeps the results inside [0, 255] (no int32 overflow anywhere), a large one saturates them.
  for (const KernelTable* table : all_tables())
    for (int32_t zx : {0, 255})
      for (int32_t zw : {0, 127})
        for (float multiplier : {100.0f / (576 * 255 * 255), 0.5f}) {
          ConvCase c;
          c.in_h = c.in_w = 4;
          c.in_c = 64, c.out_c = 3;
          c.x_fill = 255, c.w_fill = -128;
          c.input_zero_point = zx;
          c.seed = 7;
          ConvData d = make_conv(c);
          for (auto& z : d.weight_zero_points) z = zw;
          d.multipliers.assign(c.out_c, multiplier);
          PackedWeights packed;
          table->conv.pack(d.params,
                           {d.w.data(), d.bias.data(), d.weight_zero_points.data(), d.multipliers.data()},
                           &packed);
          d.params.weights = &packed;
          const ConvShape& s = d.params.shape;
          std::vector<uint8_t> y(s.out_h * s.out_w * s.out_c), scratch(table->conv.scratch_bytes(d.params) + 1);
          table->conv.run(d.params, d.x.data(), y.data(), 1, {0, s.out_h}, scratch.data());
          for (int64_t oy = 0; oy < s.out_h; ++oy)
            for (int64_t ox = 0; ox < s.out_w; ++ox)
              for (int64_t oc = 0; oc < s.out_c; ++oc) {
                const int64_t acc = conv_exact_acc(d, 0, oy, ox, oc);
                ASSERT_LT(std::abs(acc), int64_t(1) << 31);
                const int32_t want = requantize_float(int32_t(acc), multiplier, c.output_zero_point, 0, 255);
                ASSERT_EQ(y[(oy * s.out_w + ox) * s.out_c + oc], want)
                    << table->isa << " zx " << zx << " zw " << zw << " acc " << acc << " M " << multiplier;
                if (multiplier == 0.5f && std::abs(acc) > 1000) {
                  ASSERT_EQ(want, acc > 0 ? 255 : 0);
                }
              }
        }
}

TEST(IntConvKernel, AccumulatorContract) {
  const int32_t small_bias[2] = {1000, -1000};
  EXPECT_TRUE(fits_int32_accumulator(3 * 3 * 512, small_bias, 2));
  EXPECT_FALSE(fits_int32_accumulator(int64_t(1) << 14, nullptr, 0));
  const int32_t big_bias[1] = {std::numeric_limits<int32_t>::max() - 10};
  EXPECT_FALSE(fits_int32_accumulator(9, big_bias, 1));
  EXPECT_FALSE(fits_int32_accumulator(0, nullptr, 0));
}

TEST(IntConvKernel, BadShapesThrow) {
  Window2d w;
  w.kernel_h = w.kernel_w = 3;
  EXPECT_THROW(make_conv_shape(5, 5, 4, 6, 4, w), Error);  // 6 output channels, 4 groups
  EXPECT_THROW(make_conv_shape(2, 2, 3, 3, 1, w), Error);  // input smaller than the kernel
  w.stride_h = 0;
  EXPECT_THROW(make_conv_shape(5, 5, 3, 3, 1, w), Error);
}

// ---- Gemm ------------------------------------------------------------------------------------------------

void check_gemm(const KernelTable& table, int64_t rows, int64_t k, int64_t n, int32_t za, int32_t zy,
                bool asymmetric, uint32_t seed) {
  SCOPED_TRACE(std::string(table.isa) + " gemm " + std::to_string(rows) + "x" + std::to_string(k) + "x" +
               std::to_string(n) + " za" + std::to_string(za) + " zy" + std::to_string(zy) +
               (asymmetric ? " asym-w" : ""));
  std::mt19937 rng(seed);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::vector<uint8_t> a(rows * k);
  for (auto& v : a) v = uint8_t(uniform(0, 255));
  std::vector<int8_t> w(n * k);
  for (auto& v : w) v = int8_t(uniform(-128, 127));
  std::vector<int32_t> bias(n), zw(n);
  std::vector<float> scales(n), multipliers(n);
  const double sa = 0.02, sy = 0.15;
  for (int64_t j = 0; j < n; ++j) {
    bias[j] = uniform(-30000, 30000);
    zw[j] = asymmetric ? uniform(-128, 127) : 0;
    scales[j] = float(0.001 + 0.0005 * uniform(0, 20));
    multipliers[j] = float(sa * scales[j] / sy);
  }
  GemmParams p;
  p.k = k, p.n = n, p.input_zero_point = za, p.output = {zy, 0, 255};
  PackedWeights packed;
  table.gemm.pack(p, {w.data(), bias.data(), zw.data(), multipliers.data()}, &packed);
  p.weights = &packed;
  std::vector<uint8_t> scratch(table.gemm.scratch_bytes(p) + 1);
  std::vector<uint8_t> y(rows * n), y_split(rows * n);
  table.gemm.run(p, a.data(), y.data(), rows, scratch.data());
  const int64_t mid = rows / 2;
  table.gemm.run(p, a.data(), y_split.data(), mid, scratch.data());
  table.gemm.run(p, a.data() + mid * k, y_split.data() + mid * n, rows - mid, scratch.data());
  ASSERT_EQ(y, y_split);
  DoubleOracle oracle;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j) {
      int64_t acc = bias[j];
      for (int64_t i = 0; i < k; ++i) acc += (int64_t(a[r * k + i]) - za) * (int64_t(w[j * k + i]) - zw[j]);
      const int32_t got = y[r * n + j];
      ASSERT_EQ(got, requantize_float(int32_t(acc), multipliers[j], zy, 0, 255))
          << "row " << r << " col " << j;
      oracle.expect(got, double(acc) * sa * scales[j] / sy, zy, 0, 255, "row " + std::to_string(r));
    }
  EXPECT_EQ(oracle.first_failure, "");
}

TEST(IntGemmKernel, Sweep) {
  uint32_t seed = 0;
  for (const KernelTable* table : all_tables())
    for (int64_t rows : {1, 7})
      for (int64_t k : {1, 13, 64})
        for (int64_t n : {1, 10})
          for (bool asym : {false, true}) {
            ++seed;
            check_gemm(*table, rows, k, n, int32_t((seed * 53) % 256), int32_t((seed * 29) % 256), asym,
                       seed);
          }
  for (const KernelTable* table : all_tables()) {
    check_gemm(*table, 3, 40, 4, 0, 255, true, 99);
    check_gemm(*table, 3, 40, 4, 255, 0, true, 98);
  }
}

// ---- Add -------------------------------------------------------------------------------------------------

TEST(IntAddKernel, ExhaustiveAgainstDoubleFormula) {
  struct Case {
    float sa, sb, sy;
    int32_t za, zb, zy, lo;
  };
  const Case cases[] = {{0.05f, 0.03f, 0.07f, 128, 120, 130, 0},
                        {0.1f, 0.1f, 0.2f, 0, 255, 0, 0},
                        {0.02f, 0.5f, 0.3f, 255, 0, 255, 0},
                        {0.04f, 0.04f, 0.05f, 10, 20, 30, 30}};  // fused Relu
  for (const KernelTable* table : all_tables())
    for (const Case& c : cases) {
      std::vector<uint8_t> a(256 * 256), b(256 * 256), y(256 * 256);
      for (int i = 0; i < 256; ++i)
        for (int j = 0; j < 256; ++j) a[i * 256 + j] = uint8_t(i), b[i * 256 + j] = uint8_t(j);
      AddParams p;
      p.a_zero_point = c.za, p.b_zero_point = c.zb;
      p.a_multiplier = c.sa / c.sy, p.b_multiplier = c.sb / c.sy;
      p.output = {c.zy, c.lo, 255};
      table->add.run(p, a.data(), b.data(), y.data(), int64_t(y.size()));
      DoubleOracle oracle;
      for (int i = 0; i < 256 * 256; ++i) {
        const double real = double(c.sa) * (a[i] - c.za) + double(c.sb) * (b[i] - c.zb);
        oracle.expect(y[i], real / c.sy, c.zy, c.lo, 255,
                      "a" + std::to_string(a[i]) + " b" + std::to_string(b[i]));
      }
      EXPECT_EQ(oracle.first_failure, "") << table->isa;
    }
}

// ---- Pools -----------------------------------------------------------------------------------------------

struct PoolCase {
  int64_t batch = 2, in_h = 7, in_w = 6, channels = 5, kernel = 3, stride = 2;
  int64_t pad_top = 1, pad_left = 0, pad_bottom = 1, pad_right = 2;
  bool ceil_mode = false, count_include_pad = false;
};

Window2d pool_window(const PoolCase& c) {
  Window2d w;
  w.kernel_h = w.kernel_w = c.kernel;
  w.stride_h = w.stride_w = c.stride;
  w.pad_top = c.pad_top, w.pad_left = c.pad_left, w.pad_bottom = c.pad_bottom, w.pad_right = c.pad_right;
  w.ceil_mode = c.ceil_mode;
  return w;
}

TEST(IntPoolKernels, AveragePoolAgainstDoubleFormula) {
  std::mt19937 rng(5);
  for (const KernelTable* table : all_tables())
    for (bool include_pad : {false, true})
      for (bool ceil_mode : {false, true})
        for (int64_t stride : {1, 2}) {
          PoolCase c;
          c.count_include_pad = include_pad, c.ceil_mode = ceil_mode, c.stride = stride;
          SCOPED_TRACE(std::string(table->isa) + " include_pad " + std::to_string(include_pad) + " ceil " +
                       std::to_string(ceil_mode) + " stride " + std::to_string(stride));
          AvgPoolParams p;
          p.shape = make_pool_shape(c.in_h, c.in_w, c.channels, pool_window(c));
          p.count_include_pad = include_pad;
          p.input_zero_point = int32_t(rng() % 256);
          p.input_scale = 0.03f, p.output_scale = 0.02f;
          p.output = {int32_t(rng() % 256), 0, 255};
          const PoolShape& s = p.shape;
          std::vector<uint8_t> x(c.batch * s.in_h * s.in_w * s.channels);
          for (auto& v : x) v = uint8_t(rng() % 256);
          std::vector<uint8_t> y(c.batch * s.out_h * s.out_w * s.channels), y_split(y.size());
          table->avgpool.run(p, x.data(), y.data(), c.batch, {0, s.out_h});
          table->avgpool.run(p, x.data(), y_split.data(), c.batch, {0, 1});
          table->avgpool.run(p, x.data(), y_split.data(), c.batch, {1, s.out_h});
          ASSERT_EQ(y, y_split);
          DoubleOracle oracle;
          const Window2d& w = s.window;
          for (int64_t n = 0; n < c.batch; ++n)
            for (int64_t oy = 0; oy < s.out_h; ++oy)
              for (int64_t ox = 0; ox < s.out_w; ++ox)
                for (int64_t ch = 0; ch < s.channels; ++ch) {
                  double sum = 0;
                  int64_t inside = 0, extent = 0;
                  for (int64_t ky = 0; ky < w.kernel_h; ++ky)
                    for (int64_t kx = 0; kx < w.kernel_w; ++kx) {
                      const int64_t iy = oy * w.stride_h - w.pad_top + ky,
                                    ix = ox * w.stride_w - w.pad_left + kx;
                      if (iy < s.in_h + w.pad_bottom && ix < s.in_w + w.pad_right) ++extent;
                      if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) continue;
                      sum += p.input_scale * (double(x[((n * s.in_h + iy) * s.in_w + ix) * s.channels + ch]) -
                                              p.input_zero_point);
                      ++inside;
                    }
                  const double avg = sum / double(include_pad ? extent : inside);
                  oracle.expect(y[((n * s.out_h + oy) * s.out_w + ox) * s.channels + ch],
                                avg / p.output_scale, p.output.zero_point, 0, 255, "pixel");
                }
          EXPECT_EQ(oracle.first_failure, "");
        }
}

TEST(IntPoolKernels, GlobalAveragePoolAgainstDoubleFormula) {
  std::mt19937 rng(6);
  for (const KernelTable* table : all_tables())
    for (int64_t size : {1, 16, 64})
      for (int32_t zx : {0, 77, 255}) {
        GlobalAvgPoolParams p;
        p.image_size = size, p.channels = 7, p.input_zero_point = zx;
        const float sx = 0.05f, sy = 0.03f;
        p.multiplier = sx / (sy * float(size));
        p.output = {int32_t(rng() % 256), 0, 255};
        const int64_t batch = 3;
        std::vector<uint8_t> x(batch * size * p.channels);
        for (auto& v : x) v = uint8_t(rng() % 256);
        std::vector<uint8_t> y(batch * p.channels);
        table->global_avgpool.run(p, x.data(), y.data(), batch);
        DoubleOracle oracle;
        for (int64_t n = 0; n < batch; ++n)
          for (int64_t c = 0; c < p.channels; ++c) {
            double sum = 0;
            for (int64_t i = 0; i < size; ++i) sum += double(x[(n * size + i) * p.channels + c]) - zx;
            oracle.expect(y[n * p.channels + c], sum * sx / (sy * size), p.output.zero_point, 0, 255,
                          "channel");
          }
        EXPECT_EQ(oracle.first_failure, "") << table->isa << " size " << size << " zx " << zx;
      }
}

TEST(IntPoolKernels, MaxPoolIntegerAndRequantized) {
  std::mt19937 rng(8);
  for (const KernelTable* table : all_tables())
    for (bool requantize : {false, true})
      for (bool ceil_mode : {false, true}) {
        PoolCase c;
        c.ceil_mode = ceil_mode;
        MaxPoolParams p;
        p.shape = make_pool_shape(c.in_h, c.in_w, c.channels, pool_window(c));
        const float sx = 0.04f, sy = 0.05f;
        const int32_t zx = 100, zy = 90;
        p.table = requantize ? make_requantize_table(sx, zx, sy, {zy, 0, 255}) : identity_table();
        const PoolShape& s = p.shape;
        std::vector<uint8_t> x(c.batch * s.in_h * s.in_w * s.channels);
        for (auto& v : x) v = uint8_t(rng() % 256);
        std::vector<uint8_t> y(c.batch * s.out_h * s.out_w * s.channels);
        table->maxpool.run(p, x.data(), y.data(), c.batch, {0, s.out_h});
        const Window2d& w = s.window;
        for (int64_t n = 0; n < c.batch; ++n)
          for (int64_t oy = 0; oy < s.out_h; ++oy)
            for (int64_t ox = 0; ox < s.out_w; ++ox)
              for (int64_t ch = 0; ch < s.channels; ++ch) {
                // Float simulation: dequantize, max, quantize.
                float best = -std::numeric_limits<float>::infinity();
                int best_q = -1;
                for (int64_t ky = 0; ky < w.kernel_h; ++ky)
                  for (int64_t kx = 0; kx < w.kernel_w; ++kx) {
                    const int64_t iy = oy * w.stride_h - w.pad_top + ky,
                                  ix = ox * w.stride_w - w.pad_left + kx;
                    if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) continue;
                    const int q = x[((n * s.in_h + iy) * s.in_w + ix) * s.channels + ch];
                    best_q = std::max(best_q, q);
                    best = std::max(best, float(q - zx) * sx);
                  }
                ASSERT_GE(best_q, 0);
                const int want =
                    requantize ? quantize_double(double(std::nearbyint(best / sy)), zy, 0, 255) : best_q;
                ASSERT_EQ(y[((n * s.out_h + oy) * s.out_w + ox) * s.channels + ch], want);
              }
      }
}

TEST(IntPoolKernels, BadShapesThrow) {
  Window2d w;
  w.kernel_h = w.kernel_w = 2;
  w.pad_top = 2;  // pad not smaller than the kernel
  EXPECT_THROW(make_pool_shape(4, 4, 1, w), Error);
  w.pad_top = 0;
  EXPECT_THROW(make_pool_shape(1, 4, 1, w), Error);  // input shorter than the kernel
}

// ---- Conversions -----------------------------------------------------------------------------------------

TEST(IntConvertKernels, QuantizeRoundsHalfToEvenAndSaturates) {
  for (const KernelTable* table : all_tables()) {
    QuantizeParams p;
    p.scale = 0.5f;
    p.output = {10, 0, 255};
    const float x[] = {1.25f,
                       1.75f,
                       -0.25f,
                       0.0f,
                       1e9f,
                       -1e9f,
                       std::numeric_limits<float>::quiet_NaN(),
                       std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity(),
                       0.75f};
    // 1.25/0.5 = 2.5 → 2; 3.5 → 4; −0.5 → −0 → 0; 0; saturate; saturate; NaN → zp; ±inf saturate; 1.5 → 2.
    const uint8_t want[] = {12, 14, 10, 10, 255, 0, 10, 255, 0, 12};
    uint8_t y[10];
    table->quantize.run(p, x, y, 10);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(y[i], want[i]) << table->isa << " x = " << x[i];
  }
}

TEST(IntConvertKernels, QuantizeMatchesFloatSimulation) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
  std::vector<float> x(5000);
  for (auto& v : x) v = dist(rng);
  for (const KernelTable* table : all_tables())
    for (DType type : {DType::kUint8, DType::kInt8}) {
      const float scale = 0.0173f;
      const int64_t zp = type == DType::kUint8 ? 131 : -7;
      const Shape sc{};
      const fp32_ref::QuantParams qp = fp32_ref::make_quant_params({int64_t(x.size())}, sc, &sc, 1, type);
      std::vector<int64_t> want(x.size());
      fp32_ref::quantize_linear(qp, x.data(), &scale, &zp, want.data());
      QuantizeParams p;
      p.scale = scale;
      const int32_t shift = type == DType::kInt8 ? 128 : 0;  // int8 held as uint8 + 128
      p.output = {int32_t(zp) + shift, 0, 255};
      std::vector<uint8_t> y(x.size());
      table->quantize.run(p, x.data(), y.data(), int64_t(x.size()));
      for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(int64_t(y[i]) - shift, want[i]) << "x = " << x[i];
    }
}

TEST(IntConvertKernels, DequantizeAndRequantize) {
  for (const KernelTable* table : all_tables()) {
    std::vector<uint8_t> q(256);
    for (int i = 0; i < 256; ++i) q[i] = uint8_t(i);
    DequantizeParams dp{0.25f, 100};
    std::vector<float> real(256);
    table->dequantize.run(dp, q.data(), real.data(), 256);
    for (int i = 0; i < 256; ++i) ASSERT_EQ(real[i], float(i - 100) * 0.25f);

    const OutputStage out{30, 0, 255};
    RequantizeParams rp{make_requantize_table(0.25f, 100, 0.3f, out)};
    std::vector<uint8_t> y(256);
    table->requantize.run(rp, q.data(), y.data(), 256);
    for (int i = 0; i < 256; ++i) {
      const double v =
          std::nearbyint(real[i] / 0.3f);  // float division, as DequantizeLinear → QuantizeLinear
      ASSERT_EQ(y[i], quantize_double(v, out.zero_point, 0, 255)) << "q = " << i;
    }
  }
}

TEST(IntKernelTable, ReferenceComesFirstAndBestIsAvailable) {
  const auto tables = available_kernels();
  ASSERT_FALSE(tables.empty());
  EXPECT_EQ(tables[0], &reference_kernels());
  EXPECT_NE(std::find(tables.begin(), tables.end(), &best_kernels()), tables.end());
}

TEST(IntKernelTable, EveryEntryIsSet) {
  for (const KernelTable* t : all_tables()) {
    ASSERT_NE(t->isa, nullptr);
    EXPECT_TRUE(t->conv.name && t->conv.pack && t->conv.scratch_bytes && t->conv.run);
    EXPECT_TRUE(t->gemm.name && t->gemm.pack && t->gemm.scratch_bytes && t->gemm.run);
    EXPECT_TRUE(t->add.name && t->add.run);
    EXPECT_TRUE(t->avgpool.name && t->avgpool.run);
    EXPECT_TRUE(t->global_avgpool.name && t->global_avgpool.run);
    EXPECT_TRUE(t->maxpool.name && t->maxpool.run);
    EXPECT_TRUE(t->quantize.name && t->quantize.run);
    EXPECT_TRUE(t->dequantize.name && t->dequantize.run);
    EXPECT_TRUE(t->requantize.name && t->requantize.run);
  }
}

}  // namespace
}  // namespace tinyptq::int8
