// Integer-only requantization (Requantization::kInteger, docs/arithmetic.md) against two oracles:
//  - the TFLite formulas written out here independently, in 128-bit integers straight from their
//    definitions (gemmlowp's nudge + truncating divide; RDBPOT with mask and threshold): bit for bit;
//  - the real-valued result in double: within 1 output code everywhere, and exact on most outputs.
// Then the engine on ResNet8: integer arithmetic keeps the 8-bit `best` accuracy, and the model's
// `tinyptq.requant` metadata selects it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/int8/kernel_table.h"
#include "kernels/int8/reference/avgpool.h"
#include "quant/requant.h"
#include "test_util.h"

namespace tinyptq::int8 {
namespace {

using i128 = __int128;

// ---- The TFLite formulas, from their definitions ---------------------------------------------------------

// gemmlowp SaturatingRoundingDoublingHighMul: (a·b + nudge) / 2^31 with a truncating divide.
int64_t srdhm(int64_t a, int64_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const i128 ab = i128(a) * b;
  const i128 nudge = ab >= 0 ? (i128(1) << 30) : 1 - (i128(1) << 30);
  return int64_t((ab + nudge) / (i128(1) << 31));  // C++ '/' truncates toward zero
}

// gemmlowp RoundingDivideByPOT.
int64_t rdbpot(int64_t x, int e) {
  const int64_t mask = (int64_t(1) << e) - 1, remainder = x & mask;
  const int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (remainder > threshold ? 1 : 0);
}

// TFLite MultiplyByQuantizedMultiplier(x, m, shift): left shift for shift > 0, then SRDHM, then RDBPOT.
int64_t tflite_mbqm(int64_t x, FixedPointMultiplier m) {
  const int left = m.shift > 0 ? m.shift : 0, right = m.shift > 0 ? 0 : -m.shift;
  const int64_t shifted = x * (int64_t(1) << left);
  EXPECT_LE(std::abs(shifted), int64_t(INT32_MAX)) << "test values must not overflow TFLite's int32 shift";
  return rdbpot(srdhm(shifted, m.multiplier), right);
}

int32_t clamp_code(int64_t v, const OutputStage& o) { return int32_t(std::clamp<int64_t>(v, o.min, o.max)); }

// round_half_even(real) + zp, clamped, in double.
int32_t ideal(double real_over_scale, const OutputStage& o) {
  return clamp_code(int64_t(std::nearbyint(real_over_scale)) + o.zero_point, o);
}

// Counts outputs against the double result: all must be within 1, most exact. Outputs whose real value lies
// within 1e-3 of a .5 tie are not counted as exact or not: the double model rounds ties to even, TFLite's
// SRDHM up and RDBPOT away from zero.
struct Closeness {
  int64_t total = 0, exact = 0, off_by_more = 0;
  void add(int32_t got, double real_over_scale, const OutputStage& o) {
    const int32_t want = ideal(real_over_scale, o);
    off_by_more += std::abs(got - want) > 1;
    const double frac = real_over_scale - std::floor(real_over_scale);
    if (std::abs(frac - 0.5) < 1e-3) return;
    ++total;
    exact += got == want;
  }
};

// ---- Conv and Gemm ---------------------------------------------------------------------------------------

struct ConvCase {
  int64_t h, w, in_c, out_c, groups, k, stride, pad;
  int32_t zx, zy, lo;
};

TEST(IntegerRequant, ConvMatchesTfliteFormulaAndDouble) {
  const ConvCase cases[] = {{6, 6, 8, 16, 1, 3, 1, 1, 128, 128, 0},  {7, 5, 3, 5, 1, 3, 2, 1, 0, 200, 0},
                            {8, 8, 16, 16, 16, 3, 1, 1, 120, 0, 0},  {5, 5, 12, 6, 3, 1, 1, 0, 255, 140, 140},
                            {9, 9, 4, 8, 1, 5, 2, 2, 60, 30, 0}};
  std::mt19937 rng(7);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto real = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  Closeness close;
  for (const ConvCase& c : cases) {
    SCOPED_TRACE("conv " + std::to_string(c.h) + "x" + std::to_string(c.w) + "x" + std::to_string(c.in_c) +
                 " -> " + std::to_string(c.out_c) + " g" + std::to_string(c.groups));
    Window2d win;
    win.kernel_h = win.kernel_w = c.k;
    win.stride_h = win.stride_w = c.stride;
    win.pad_top = win.pad_left = win.pad_bottom = win.pad_right = c.pad;
    ConvParams p;
    p.shape = make_conv_shape(c.h, c.w, c.in_c, c.out_c, c.groups, win);
    p.input_zero_point = c.zx;
    p.output = {c.zy, c.lo, 255};
    const ConvShape& s = p.shape;
    std::vector<uint8_t> x(static_cast<size_t>(s.in_h * s.in_w * s.in_c));
    for (auto& v : x) v = uint8_t(uni(0, 255));
    std::vector<int8_t> w(static_cast<size_t>(s.out_c * s.taps()));
    for (auto& v : w) v = int8_t(uni(-127, 127));
    std::vector<int32_t> bias(static_cast<size_t>(s.out_c)), zw(size_t(s.out_c), 0);
    std::vector<float> sw(static_cast<size_t>(s.out_c)), mult(size_t(s.out_c));
    std::vector<FixedPointMultiplier> fixed(static_cast<size_t>(s.out_c));
    const float sx = float(real(0.005, 0.05));
    const float sy = float(real(0.5, 2.0)) * sx * 0.01f * std::sqrt(float(s.taps())) * 64.f;
    for (int64_t oc = 0; oc < s.out_c; ++oc) {
      bias[oc] = uni(-5000, 5000);
      sw[oc] = float(real(0.002, 0.02));
      mult[oc] = sx * sw[oc] / sy;
      fixed[oc] = quantize_multiplier(double(sx) * double(sw[oc]) / double(sy));
    }
    PackedWeights packed;
    reference_kernels().conv.pack(p, {w.data(), bias.data(), zw.data(), mult.data(), fixed.data()}, &packed);
    ASSERT_EQ(packed.fixed.size(), size_t(s.out_c));
    p.weights = &packed;
    std::vector<uint8_t> y(static_cast<size_t>(s.out_h * s.out_w * s.out_c));
    reference_kernels().conv.run(p, x.data(), y.data(), 1, {0, s.out_h}, nullptr);
    const int64_t cpg = s.in_per_group();
    int64_t mismatches = 0;
    for (int64_t oy = 0; oy < s.out_h; ++oy)
      for (int64_t ox = 0; ox < s.out_w; ++ox)
        for (int64_t oc = 0; oc < s.out_c; ++oc) {
          const int64_t g = oc / s.out_per_group();
          int64_t acc = bias[oc];
          for (int64_t ic = 0; ic < cpg; ++ic)
            for (int64_t ky = 0; ky < c.k; ++ky)
              for (int64_t kx = 0; kx < c.k; ++kx) {
                const int64_t iy = oy * c.stride - c.pad + ky, ix = ox * c.stride - c.pad + kx;
                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;  // padding is real 0
                acc += (int64_t(x[size_t((iy * c.w + ix) * c.in_c + g * cpg + ic)]) - c.zx) *
                       w[size_t(((oc * cpg + ic) * c.k + ky) * c.k + kx)];
              }
          const int32_t got = y[size_t((oy * s.out_w + ox) * s.out_c + oc)];
          mismatches += got != clamp_code(tflite_mbqm(acc, fixed[oc]) + c.zy, p.output);
          close.add(got, double(acc) * sx * sw[oc] / sy, p.output);
        }
    EXPECT_EQ(mismatches, 0);
  }
  EXPECT_EQ(close.off_by_more, 0);
  EXPECT_GE(close.exact * 100, close.total * 95) << close.exact << " of " << close.total << " exact";
}

TEST(IntegerRequant, GemmMatchesTfliteFormula) {
  std::mt19937 rng(3);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const int64_t rows = 4, k = 64, n = 10;
  GemmParams p;
  p.k = k, p.n = n;
  p.input_zero_point = 17;
  p.output = {100, 0, 255};
  std::vector<uint8_t> a(static_cast<size_t>(rows * k));
  for (auto& v : a) v = uint8_t(uni(0, 255));
  std::vector<int8_t> w(static_cast<size_t>(n * k));
  for (auto& v : w) v = int8_t(uni(-127, 127));
  std::vector<int32_t> bias(static_cast<size_t>(n)), zw(size_t(n), 0);
  std::vector<float> mult(static_cast<size_t>(n));
  std::vector<FixedPointMultiplier> fixed(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    bias[j] = uni(-3000, 3000);
    mult[j] = 1.0f / float(uni(300, 3000));
    fixed[j] = quantize_multiplier(mult[j]);
  }
  PackedWeights packed;
  reference_kernels().gemm.pack(p, {w.data(), bias.data(), zw.data(), mult.data(), fixed.data()}, &packed);
  p.weights = &packed;
  std::vector<uint8_t> y(static_cast<size_t>(rows * n));
  reference_kernels().gemm.run(p, a.data(), y.data(), rows, nullptr);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j) {
      int64_t acc = bias[j];
      for (int64_t i = 0; i < k; ++i) acc += (int64_t(a[r * k + i]) - p.input_zero_point) * w[j * k + i];
      EXPECT_EQ(int32_t(y[r * n + j]), clamp_code(tflite_mbqm(acc, fixed[j]) + 100, p.output)) << r << "," << j;
    }
}

// ---- Add: TFLite's int8 Add with a 2^20 left shift --------------------------------------------------------

TEST(IntegerRequant, AddExhaustiveAgainstTfliteFormulaAndDouble) {
  struct Case {
    float sa, sb, sy;
    int32_t za, zb, zy, lo;
  };
  const Case cases[] = {{0.05f, 0.03f, 0.07f, 128, 120, 130, 0},
                        {0.1f, 0.1f, 0.2f, 0, 255, 0, 0},
                        {0.02f, 0.5f, 0.3f, 255, 0, 255, 0},
                        {0.04f, 0.04f, 0.05f, 10, 20, 30, 30}};
  for (const Case& c : cases) {
    AddParams p;
    p.a_zero_point = c.za, p.b_zero_point = c.zb;
    p.output = {c.zy, c.lo, 255};
    set_integer_add(p, c.sa, c.sb, c.sy);
    ASSERT_TRUE(p.integer);
    // The multipliers TFLite's Prepare computes, in double.
    const double twice_max = 2.0 * std::max(double(c.sa), double(c.sb));
    const FixedPointMultiplier ma = quantize_multiplier(double(c.sa) / twice_max);
    const FixedPointMultiplier mb = quantize_multiplier(double(c.sb) / twice_max);
    const FixedPointMultiplier mo = quantize_multiplier(twice_max / (double(1 << 20) * double(c.sy)));
    std::vector<uint8_t> a(256 * 256), b(256 * 256), y(256 * 256);
    for (int i = 0; i < 256; ++i)
      for (int j = 0; j < 256; ++j) a[i * 256 + j] = uint8_t(i), b[i * 256 + j] = uint8_t(j);
    reference_kernels().add.run(p, a.data(), b.data(), y.data(), int64_t(y.size()));  // the engine's, in integer mode
    Closeness close;
    int64_t mismatches = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      const int64_t sa = tflite_mbqm((int64_t(a[i]) - c.za) * (1 << 20), ma);
      const int64_t sb = tflite_mbqm((int64_t(b[i]) - c.zb) * (1 << 20), mb);
      mismatches += y[i] != clamp_code(tflite_mbqm(sa + sb, mo) + c.zy, p.output);
      const double real = double(c.sa) * (int(a[i]) - c.za) + double(c.sb) * (int(b[i]) - c.zb);
      close.add(y[i], real / c.sy, p.output);
    }
    EXPECT_EQ(mismatches, 0) << "case za=" << c.za;
    EXPECT_EQ(close.off_by_more, 0);
    EXPECT_GE(close.exact * 100, close.total * 95) << close.exact << " of " << close.total << " exact";
  }
}

// ---- Pools -----------------------------------------------------------------------------------------------

TEST(IntegerRequant, GlobalAveragePoolRoundsLikeTflite) {
  std::mt19937 rng(11);
  const int64_t size = 64, channels = 32, images = 3;
  std::vector<uint8_t> x(static_cast<size_t>(images * size * channels));
  for (auto& v : x) v = uint8_t(std::uniform_int_distribution<int>(0, 255)(rng));
  for (const bool same : {true, false}) {
    GlobalAvgPoolParams p;
    p.image_size = size, p.channels = channels;
    p.input_zero_point = 131;
    const float sx = 0.11f, sy = same ? sx : 0.021f;
    p.output = {same ? 131 : 40, 0, 255};
    p.integer = true;
    p.same_quant = same;
    p.fixed = quantize_multiplier(double(sx) / (double(sy) * double(size)));
    std::vector<uint8_t> y(static_cast<size_t>(images * channels));
    reference_kernels().global_avgpool.run(p, x.data(), y.data(), images);
    Closeness close;
    for (int64_t n = 0; n < images; ++n)
      for (int64_t c = 0; c < channels; ++c) {
        int64_t sum = 0;
        for (int64_t i = 0; i < size; ++i) sum += int64_t(x[size_t((n * size + i) * channels + c)]) - 131;
        const int32_t got = y[size_t(n * channels + c)];
        if (same) {  // TFLite AveragePool: (sum ± size/2) / size, truncating
          const int64_t avg = sum > 0 ? (sum + size / 2) / size : (sum - size / 2) / size;
          EXPECT_EQ(got, clamp_code(avg + 131, p.output));
          EXPECT_EQ(avg, std::lround(double(sum) / double(size)));  // = half away from zero
        } else {
          EXPECT_EQ(got, clamp_code(tflite_mbqm(sum, p.fixed) + 40, p.output));
        }
        close.add(got, double(sum) * sx / (sy * double(size)), p.output);
      }
    EXPECT_EQ(close.off_by_more, 0);
  }
}

TEST(IntegerRequant, AveragePoolUsesOneRoundingAcrossScales) {
  std::mt19937 rng(5);
  Window2d win;
  win.kernel_h = win.kernel_w = 3;
  win.stride_h = win.stride_w = 2;
  win.pad_top = win.pad_left = win.pad_bottom = win.pad_right = 1;
  AvgPoolParams p;
  p.shape = make_pool_shape(7, 7, 4, win);
  p.input_zero_point = 20;
  p.input_scale = 0.08f, p.output_scale = 0.013f;
  p.output = {10, 0, 255};
  p.integer = true;
  std::vector<uint8_t> x(7 * 7 * 4);
  for (auto& v : x) v = uint8_t(std::uniform_int_distribution<int>(0, 255)(rng));
  std::vector<uint8_t> y(static_cast<size_t>(p.shape.out_h * p.shape.out_w * 4));
  reference_kernels().avgpool.run(p, x.data(), y.data(), 1, {0, p.shape.out_h});
  Closeness close;
  for (int64_t oy = 0; oy < p.shape.out_h; ++oy)
    for (int64_t ox = 0; ox < p.shape.out_w; ++ox) {
      const int64_t d = ref::avgpool_divisor(p, oy, ox);
      const FixedPointMultiplier m = quantize_multiplier(0.08 / (0.013 * double(d)));
      for (int64_t c = 0; c < 4; ++c) {
        int64_t sum = 0;
        for (int64_t ky = 0; ky < 3; ++ky)
          for (int64_t kx = 0; kx < 3; ++kx) {
            const int64_t iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
            if (iy >= 0 && iy < 7 && ix >= 0 && ix < 7) sum += int64_t(x[size_t((iy * 7 + ix) * 4 + c)]) - 20;
          }
        const int32_t got = y[size_t((oy * p.shape.out_w + ox) * 4 + c)];
        EXPECT_EQ(got, clamp_code(tflite_mbqm(sum, m) + 10, p.output));
        close.add(got, double(sum) * double(0.08f) / (double(0.013f) * double(d)), p.output);
      }
    }
  EXPECT_EQ(close.off_by_more, 0);
}

TEST(IntegerRequant, RequantizeTableWithinOneCodeOfDouble) {
  const OutputStage out{77, 0, 255};
  const auto table = make_requantize_table_fixed(0.05f, 128, 0.031f, out);
  const FixedPointMultiplier m = quantize_multiplier(double(0.05f) / double(0.031f));
  for (int q = 0; q < 256; ++q) {
    EXPECT_EQ(int32_t(table[q]), clamp_code(tflite_mbqm(q - 128, m) + 77, out)) << q;
    EXPECT_LE(std::abs(int32_t(table[q]) - ideal((q - 128) * double(0.05f) / double(0.031f), out)), 1) << q;
  }
}

TEST(IntegerRequant, NamesParseAndRejectUnknown) {
  EXPECT_EQ(parse_requantization("float"), Requantization::kFloat);
  EXPECT_EQ(parse_requantization("integer"), Requantization::kInteger);
  EXPECT_STREQ(requantization_name(Requantization::kInteger), "integer");
  EXPECT_THROW(parse_requantization("fixed"), Error);
}

// ---- The engine on ResNet8 -----------------------------------------------------------------------------

// The overall accuracy from eval's table line "overall   881/1000   88.10"; -1 when absent.
double accuracy_from(const std::string& output) {
  const auto pos = output.find("\noverall");
  if (pos == std::string::npos) return -1;
  std::istringstream line(output.substr(pos + 1));
  std::string label, counts;
  double accuracy = -1;
  line >> label >> counts >> accuracy;
  return accuracy;
}

TEST(IntegerRequantResNet8, BestKeepsItsAccuracyAndMetadataSelectsTheArithmetic) {
  using namespace tinyptq::testing;
  TempDir dir;
  const std::string data = shell_quote(cifar_dir()), best = dir.file("best.onnx"), tfl = dir.file("tfl.onnx");
  auto q = run_tinyptq("quantize --model " + shell_quote(resnet8_onnx()) + " --data " + data + " -o " +
                       shell_quote(best));
  ASSERT_EQ(q.exit_code, 0) << q.output;
  auto eval = [&](const std::string& model, const std::string& flags) {
    auto r = run_tinyptq("eval --model " + shell_quote(model) + " --data " + data + " --threads 2 " + flags);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return accuracy_from(r.output);
  };
  const double as_float = eval(best, ""), as_integer = eval(best, "--requant integer");
  std::cout << "best 8-bit on test-1k: float requantization " << as_float << " %, integer " << as_integer
            << " %\n";
  EXPECT_GE(as_integer, 88.0);
  EXPECT_LE(std::abs(as_integer - as_float), 0.2 + 1e-9);

  // tflite-int8 records integer arithmetic; --requant float overrides it; both describe themselves.
  q = run_tinyptq("quantize --model " + shell_quote(resnet8_onnx()) + " --data " + data +
                  " --preset tflite-int8 -o " + shell_quote(tfl));
  ASSERT_EQ(q.exit_code, 0) << q.output;
  auto describe = run_tinyptq("bench --model " + shell_quote(tfl) + " --batch 1 --threads 1 --seconds 0.05 --describe");
  EXPECT_NE(describe.output.find("integer requantization"), std::string::npos) << describe.output;
  describe = run_tinyptq("bench --model " + shell_quote(tfl) +
                         " --batch 1 --threads 1 --seconds 0.05 --describe --requant float");
  EXPECT_NE(describe.output.find("float requantization"), std::string::npos) << describe.output;
  EXPECT_GE(eval(tfl, ""), 86.0);

  const auto bad = run_tinyptq("eval --model " + shell_quote(tfl) + " --data " + data + " --requant fixed");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("unknown requantization 'fixed'"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace tinyptq::int8
