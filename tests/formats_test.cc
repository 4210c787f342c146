// Number formats (the traits table) and affine quantization parameters. Format-wide properties are
// checked by looping over every format the table admits.
#include "quant/formats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "quant/qparams.h"

namespace tinyptq {
namespace {

// Every QuantFormat the table admits: each row × bit width × symmetric × narrow.
std::vector<QuantFormat> all_formats() {
  std::vector<QuantFormat> out;
  for (const FormatTraits& row : format_table()) {
    for (int bits = row.min_bits; bits <= row.max_bits; ++bits) {
      for (const bool symmetric : {false, true}) {
        for (const bool narrow : {false, true}) out.push_back({row.container, bits, symmetric, narrow});
      }
    }
  }
  return out;
}

TEST(Formats, TableRowsAreConsistent) {
  std::set<std::string> names;
  for (const FormatTraits& row : format_table()) {
    SCOPED_TRACE(row.name);
    EXPECT_TRUE(names.insert(row.name).second) << "duplicate row name";
    EXPECT_EQ(find_format(row.name), &row);
    EXPECT_EQ(row.storage_bits, 8);
    EXPECT_LE(2, row.min_bits);
    EXPECT_LE(row.min_bits, row.max_bits);
    EXPECT_LE(row.max_bits, row.storage_bits);
    EXPECT_EQ(row.is_signed, row.container == Container::kInt8);
    const QuantFormat f = make_format(row, false, false);
    EXPECT_EQ(f.bits, row.max_bits);
    EXPECT_EQ(format_name(f), row.name);
  }
  EXPECT_EQ(find_format("int16"), nullptr);
  EXPECT_STREQ(container_traits(Container::kInt8).name, "int8");
  EXPECT_STREQ(container_traits(Container::kUint8).name, "uint8");
}

TEST(Formats, CodeRangesMatchKnownValues) {
  struct Case {
    QuantFormat f;
    int32_t lo, hi;
  };
  const Case cases[] = {
      {{Container::kInt8, 8, false, false}, -128, 127}, {{Container::kInt8, 8, true, true}, -127, 127},
      {{Container::kInt8, 4, true, false}, -8, 7},      {{Container::kInt8, 4, true, true}, -7, 7},
      {{Container::kInt8, 2, false, true}, -1, 1},      {{Container::kUint8, 8, false, false}, 0, 255},
      {{Container::kUint8, 8, true, true}, 0, 254},     {{Container::kUint8, 4, false, false}, 0, 15},
      {{Container::kUint8, 4, false, true}, 0, 14},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(format_name(c.f));
    EXPECT_EQ(qmin(c.f), c.lo);
    EXPECT_EQ(qmax(c.f), c.hi);
  }
}

TEST(Formats, CodeRangesForEveryFormat) {
  for (const QuantFormat& f : all_formats()) {
    SCOPED_TRACE(format_name(f));
    const int32_t lo = qmin(f), hi = qmax(f);
    EXPECT_EQ(int64_t{hi} - lo + 1, (int64_t{1} << f.bits) - (f.narrow ? 1 : 0));
    EXPECT_LE(lo, 0);
    EXPECT_GE(hi, 1);
    if (container_traits(f.container).is_signed) {
      EXPECT_GE(lo, -128);
      EXPECT_LE(hi, 127);
      if (f.narrow) {
        EXPECT_EQ(lo, -hi);
      }
    } else {
      EXPECT_EQ(lo, 0);
      EXPECT_LE(hi, 255);
    }
  }
}

TEST(Formats, ReduceRangeDropsOneBit) {
  const QuantFormat u8 = reduce_range({Container::kUint8, 8, false, false});
  EXPECT_EQ(qmin(u8), 0);
  EXPECT_EQ(qmax(u8), 127);
  const QuantFormat s8 = reduce_range({Container::kInt8, 8, false, false});
  EXPECT_EQ(qmin(s8), -64);
  EXPECT_EQ(qmax(s8), 63);
  const QuantFormat s8n = reduce_range({Container::kInt8, 8, true, true});
  EXPECT_EQ(qmin(s8n), -63);
  EXPECT_EQ(qmax(s8n), 63);
  EXPECT_TRUE(s8n.symmetric && s8n.narrow);
  EXPECT_THROW(reduce_range({Container::kInt8, 2, false, false}), Error);
}

TEST(Formats, InvalidFormatsThrow) {
  for (const int bits : {-3, 0, 1, 9, 32}) {
    EXPECT_THROW(qmin({Container::kInt8, bits, false, false}), Error) << bits;
    EXPECT_THROW(qmax({Container::kUint8, bits, false, false}), Error) << bits;
    EXPECT_THROW(check_format({Container::kUint8, bits, false, false}), Error) << bits;
  }
  EXPECT_THROW(container_traits(static_cast<Container>(7)), Error);
  EXPECT_THROW(qmin({static_cast<Container>(-1), 8, false, false}), Error);
}

TEST(Formats, Names) {
  EXPECT_EQ(format_name({Container::kInt8, 8, false, false}), "int8");
  EXPECT_EQ(format_name({Container::kUint8, 4, false, false}), "uint4");
  EXPECT_EQ(format_name({Container::kInt8, 6, false, false}), "int6(int8)");
  EXPECT_EQ(format_name({Container::kInt8, 8, true, true}), "int8 symmetric narrow");
}

// ---- quantization parameters ----

TEST(QParams, MatchesOnnxRuntimeRules) {
  {  // asymmetric uint8 activations: scale = (rmax − rmin)/255, zp = round(0 − rmin/scale)
    const QParams q = qparams_from_range(-1.0f, 3.0f, {Container::kUint8, 8, false, false});
    EXPECT_EQ(q.scale[0], static_cast<float>(4.0 / 255.0));
    EXPECT_EQ(q.zero_point[0], 64);  // round(63.75)
    EXPECT_EQ(q.axis, -1);
  }
  {  // ORT symmetric int8 weights: [-127, 127], scale = absmax/127, zp 0
    const QParams q = qparams_from_range(-1.0f, 0.5f, {Container::kInt8, 8, true, true});
    EXPECT_EQ(q.scale[0], static_cast<float>(1.0 / 127.0));
    EXPECT_EQ(q.zero_point[0], 0);
  }
  {  // ORT symmetric uint8: [0, 254], zp 127
    const QParams q = qparams_from_range(-2.0f, 1.0f, {Container::kUint8, 8, true, true});
    EXPECT_EQ(q.scale[0], static_cast<float>(4.0 / 254.0));
    EXPECT_EQ(q.zero_point[0], 127);
  }
  {  // full-range symmetric: midpoints round(-0.5) = 0 and round(127.5) = 128 (half to even)
    const QParams s = qparams_from_range(-2.0f, 1.0f, {Container::kInt8, 8, true, false});
    EXPECT_EQ(s.zero_point[0], 0);
    EXPECT_EQ(s.scale[0], static_cast<float>(4.0 / 255.0));
    const QParams u = qparams_from_range(-2.0f, 1.0f, {Container::kUint8, 8, true, false});
    EXPECT_EQ(u.zero_point[0], 128);
  }
  {  // ranges are widened to include 0
    const QParams pos = qparams_from_range(2.0f, 6.0f, {Container::kUint8, 8, false, false});
    EXPECT_EQ(pos.scale[0], static_cast<float>(6.0 / 255.0));
    EXPECT_EQ(pos.zero_point[0], 0);
    const QParams neg = qparams_from_range(-6.0f, -2.0f, {Container::kInt8, 8, false, false});
    EXPECT_EQ(neg.scale[0], static_cast<float>(6.0 / 255.0));
    EXPECT_EQ(neg.zero_point[0], 127);
  }
  {  // ORT's unit test: compute_scale_zp(0, 0, -127, 127, symmetric=True) == [0, 1.0]
    const QParams q = qparams_from_range(0.0f, 0.0f, {Container::kInt8, 8, true, true});
    EXPECT_EQ(q.scale[0], 1.0f);
    EXPECT_EQ(q.zero_point[0], 0);
  }
}

// Round-trip budget for every format: inside [min, max] the error is at most half a step, the step is
// the range spread over the format's codes, and real 0 is exact.
TEST(QParams, RoundTripErrorBudgetForEveryFormat) {
  const std::pair<float, float> ranges[] = {{-1.0f, 1.0f},   {-0.3f, 2.7f},   {0.5f, 4.0f},
                                            {-7.0f, -0.01f}, {-1e-3f, 5e-4f}, {-1000.0f, 20.0f}};
  std::mt19937 rng(1234);
  for (const QuantFormat& f : all_formats()) {
    SCOPED_TRACE(format_name(f));
    const int32_t lo = qmin(f), hi = qmax(f);
    for (const auto& [rmin, rmax] : ranges) {
      SCOPED_TRACE(std::to_string(rmin) + ".." + std::to_string(rmax));
      const QParams q = qparams_from_range(rmin, rmax, f);
      ASSERT_EQ(q.scale.size(), 1u);
      const float s = q.scale[0];
      const int32_t zp = q.zero_point[0];
      ASSERT_TRUE(std::isfinite(s) && s > 0.0f);
      ASSERT_GE(zp, lo);
      ASSERT_LE(zp, hi);
      if (f.symmetric) {
        EXPECT_EQ(zp, static_cast<int32_t>(std::nearbyint((lo + hi) / 2.0)));
      }
      // The step uses all codes: (widened, symmetrized) width / (qmax − qmin).
      double wmin = std::min(rmin, 0.0f), wmax = std::max(rmax, 0.0f);
      if (f.symmetric) wmax = std::max(-wmin, wmax), wmin = -wmax;
      EXPECT_NEAR(s, (wmax - wmin) / (hi - lo), 1e-6 * s);
      EXPECT_EQ(dequantize_value(quantize_value(0.0f, s, zp, lo, hi), s, zp), 0.0f);

      std::uniform_real_distribution<float> dist(rmin, rmax);
      std::vector<float> x = {rmin, rmax};
      for (int i = 0; i < 2000; ++i) x.push_back(dist(rng));
      std::vector<float> y = x;
      fake_quantize(y, q);
      // Half a step, plus the float rounding of x − y itself (a few ulps of x).
      for (size_t i = 0; i < x.size(); ++i) {
        const double budget =
            0.5 * s * (1.0 + 1e-6) + 4.0 * std::numeric_limits<float>::epsilon() * std::fabs(x[i]);
        ASSERT_LE(std::fabs(double(x[i]) - y[i]), budget) << "x=" << x[i] << " scale=" << s << " zp=" << zp;
      }
    }
  }
}

// SQNR of a uniform signal quantized over its exact range is ≈ 20·log10(number of steps) at every width.
TEST(QParams, SqnrPerBitWidthMatchesTheory) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(200000);
  for (float& v : x) v = dist(rng);
  for (const QuantFormat& f : all_formats()) {
    if (f.symmetric || f.narrow) continue;
    SCOPED_TRACE(format_name(f));
    const QParams q = qparams_from_range(-1.0f, 1.0f, f);
    std::vector<float> y = x;
    fake_quantize(y, q);
    const double expected = 20.0 * std::log10(double(qmax(f) - qmin(f)));
    EXPECT_NEAR(sqnr_db(x, y), expected, f.bits <= 3 ? 1.0 : 0.3);
  }
}

TEST(QParams, DegenerateRangesGiveUsableScales) {
  const float kMax = std::numeric_limits<float>::max();
  const float kTiny = std::numeric_limits<float>::denorm_min();
  const std::pair<float, float> ranges[] = {{0.0f, 0.0f},     {5.0f, 5.0f},      {-3.0f, -3.0f},
                                            {1e-30f, 1e-30f}, {-1e-38f, 1e-38f}, {kTiny, kTiny},
                                            {0.0f, kMax},     {-kMax, kMax}};
  for (const QuantFormat& f : all_formats()) {
    SCOPED_TRACE(format_name(f));
    const int32_t lo = qmin(f), hi = qmax(f);
    for (const auto& [rmin, rmax] : ranges) {
      SCOPED_TRACE(std::to_string(rmin) + ".." + std::to_string(rmax));
      const QParams q = qparams_from_range(rmin, rmax, f);
      const float s = q.scale[0];
      const int32_t zp = q.zero_point[0];
      ASSERT_TRUE(std::isfinite(s));
      ASSERT_GE(s, kMinScale);
      ASSERT_GE(zp, lo);
      ASSERT_LE(zp, hi);
      EXPECT_NO_THROW(check_qparams(q));
      EXPECT_EQ(dequantize_value(quantize_value(0.0f, s, zp, lo, hi), s, zp), 0.0f);
      for (const float v : {rmin, rmax}) {
        const float back = dequantize_value(quantize_value(v, s, zp, lo, hi), s, zp);
        ASSERT_TRUE(std::isfinite(back));
        // Ranges beyond ±FLT_MAX/2 are clipped there (documented), so only finiteness holds at ±FLT_MAX.
        if (std::fabs(v) <= kMax / 2) {
          EXPECT_LE(
              std::fabs(double(back) - double(v)),
              0.5 * double(s) * (1.0 + 1e-6) + 4.0 * std::numeric_limits<float>::epsilon() * std::fabs(v));
        }
      }
      for (int32_t code = lo; code <= hi; ++code) ASSERT_TRUE(std::isfinite(dequantize_value(code, s, zp)));
    }
    const QParams zero = qparams_from_range(0.0f, 0.0f, f);  // documented: scale 1
    EXPECT_EQ(zero.scale[0], 1.0f);
  }
}

TEST(QParams, BadRangesThrow) {
  const QuantFormat f;
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  EXPECT_THROW(qparams_from_range(nan, 1.0f, f), Error);
  EXPECT_THROW(qparams_from_range(-1.0f, inf, f), Error);
  EXPECT_THROW(qparams_from_range(-inf, 1.0f, f), Error);
  EXPECT_THROW(qparams_from_range(2.0f, 1.0f, f), Error);
  EXPECT_THROW(qparams_from_range(0.0f, 1.0f, {Container::kInt8, 9, false, false}), Error);
}

TEST(QParams, RoundHalfEvenMatchesDefaultRoundingMode) {
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  std::vector<float> values;
  for (int k = -600; k <= 600; ++k) {
    values.push_back(k + 0.5f);
    values.push_back(k * 0.25f);
    values.push_back(std::nextafter(k + 0.5f, 1e9f));
    values.push_back(std::nextafter(k + 0.5f, -1e9f));
  }
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1e7f, 1e7f);
  for (int i = 0; i < 100000; ++i) values.push_back(dist(rng));
  values.push_back(0.49999997f);
  values.push_back(8388609.0f);  // 2^23 + 1: already an integer
  for (const float v : values) ASSERT_EQ(round_half_even(v), std::nearbyint(v)) << v;
}

TEST(QParams, QuantizeValueRoundsHalfToEvenAndSaturates) {
  EXPECT_EQ(quantize_value(1.25f, 0.5f, 0, -128, 127), 2);  // 2.5 → 2
  EXPECT_EQ(quantize_value(1.75f, 0.5f, 0, -128, 127), 4);  // 3.5 → 4
  EXPECT_EQ(quantize_value(-1.25f, 0.5f, 0, -128, 127), -2);
  EXPECT_EQ(quantize_value(-1.75f, 0.5f, 0, -128, 127), -4);
  EXPECT_EQ(quantize_value(1.25f, 0.5f, 10, 0, 255), 12);  // round first, then add zp
  EXPECT_EQ(quantize_value(1e30f, 1e-12f, 3, -128, 127), 127);
  EXPECT_EQ(quantize_value(-1e30f, 1e-12f, 3, -128, 127), -128);
  EXPECT_EQ(quantize_value(std::numeric_limits<float>::infinity(), 0.1f, 128, 0, 255), 255);
  EXPECT_EQ(quantize_value(-std::numeric_limits<float>::infinity(), 0.1f, 128, 0, 255), 0);
  EXPECT_EQ(quantize_value(std::numeric_limits<float>::quiet_NaN(), 0.1f, 128, 0, 255), 128);
  EXPECT_EQ(quantize_value(-200.0f, 1.0f, 0, -127, 127), -127);
}

TEST(QParams, DequantizeValue) {
  EXPECT_EQ(dequantize_value(130, 0.5f, 128), 1.0f);
  EXPECT_EQ(dequantize_value(-7, 0.25f, 0), -1.75f);
  EXPECT_TRUE(std::isfinite(
      dequantize_value(std::numeric_limits<int32_t>::min(), 1.0f, std::numeric_limits<int32_t>::max())));
}

TEST(QParams, FakeQuantizePerChannelUsesEachChannelsParameters) {
  const int64_t outer = 3, channels = 4, inner = 5;
  std::mt19937 rng(11);
  std::vector<float> x(outer * channels * inner);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      std::uniform_real_distribution<float> dist(-0.1f * float(1 << (2 * c)), 0.05f * float(1 << (2 * c)));
      for (int64_t i = 0; i < inner; ++i) x[(o * channels + c) * inner + i] = dist(rng);
    }
  }
  const QuantFormat f{Container::kInt8, 8, true, true};
  std::vector<float> mins(channels, 0.0f), maxs(channels, 0.0f);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t i = 0; i < inner; ++i) {
        const float v = x[(o * channels + c) * inner + i];
        mins[c] = std::min(mins[c], v);
        maxs[c] = std::max(maxs[c], v);
      }
    }
  }
  const QParams q = qparams_per_channel(mins, maxs, f, 0);
  ASSERT_EQ(q.scale.size(), size_t(channels));
  EXPECT_EQ(q.axis, 0);
  std::vector<float> y = x;
  fake_quantize(y, q, channels, inner);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t i = 0; i < inner; ++i) {
        const size_t k = (o * channels + c) * inner + i;
        const float expect = dequantize_value(quantize_value(x[k], q.scale[c], 0, -127, 127), q.scale[c], 0);
        ASSERT_EQ(y[k], expect) << "o=" << o << " c=" << c << " i=" << i;
        ASSERT_LE(std::fabs(x[k] - y[k]), 0.5f * q.scale[c] * (1.0f + 1e-5f));
      }
    }
  }
  // Per-tensor parameters from the overall range lose the small channels' precision.
  std::vector<float> t = x;
  fake_quantize(t, qparams_from_range(*std::min_element(mins.begin(), mins.end()),
                                      *std::max_element(maxs.begin(), maxs.end()), f));
  EXPECT_GT(sqnr_db(x, y), sqnr_db(x, t) + 3.0);
}

TEST(QParams, FakeQuantizeRejectsInconsistentParameters) {
  std::vector<float> x(12, 0.5f);
  const QuantFormat f;
  QParams pc = qparams_per_channel({-1, -1, -1}, {1, 1, 1}, f, 1);
  EXPECT_THROW(fake_quantize(x, pc, 4, 3), Error);  // 3 scales for 4 channels
  EXPECT_THROW(fake_quantize(x, pc, 3, 5), Error);  // 12 values do not split into [., 3, 5]
  EXPECT_THROW(fake_quantize(x, pc, 3, 0), Error);
  EXPECT_NO_THROW(fake_quantize(x, pc, 3, 2));
  QParams bad = qparams_from_range(-1, 1, f);
  bad.scale = {0.0f};
  EXPECT_THROW(fake_quantize(x, bad), Error);
  bad.scale = {std::numeric_limits<float>::quiet_NaN()};
  EXPECT_THROW(fake_quantize(x, bad), Error);
  bad = qparams_from_range(-1, 1, f);
  bad.zero_point = {300};
  EXPECT_THROW(fake_quantize(x, bad), Error);
  bad = qparams_from_range(-1, 1, f);
  bad.scale = {1.0f, 1.0f};
  bad.zero_point = {0, 0};
  EXPECT_THROW(fake_quantize(x, bad), Error);  // per tensor with two scales
  std::vector<float> empty;
  EXPECT_NO_THROW(fake_quantize(empty, pc, 3, 2));
}

TEST(QParams, PerChannelRejectsBadInput) {
  const QuantFormat f;
  EXPECT_THROW(qparams_per_channel({}, {}, f, 0), Error);
  EXPECT_THROW(qparams_per_channel({0, 1}, {1}, f, 0), Error);
  EXPECT_THROW(qparams_per_channel({0}, {1}, f, -1), Error);
  try {
    qparams_per_channel({0, std::numeric_limits<float>::quiet_NaN()}, {1, 1}, f, 0);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("channel 1"), std::string::npos) << e.what();
  }
}

TEST(Sqnr, KnownValues) {
  const std::vector<float> a = {1, 1, 1, 1}, b = {1.1f, 0.9f, 1.1f, 0.9f};
  EXPECT_NEAR(sqnr_db(a, b), 20.0, 1e-4);  // 4 / (4 · 0.01)
  EXPECT_TRUE(std::isinf(sqnr_db(a, a)) && sqnr_db(a, a) > 0);
  EXPECT_TRUE(std::isinf(sqnr_db({}, {})));
  const std::vector<float> c = {3, 4}, zeros = {0, 0};
  EXPECT_NEAR(sqnr_db(c, zeros), 0.0, 1e-12);
  EXPECT_THROW(sqnr_db(a, c), Error);
}

}  // namespace
}  // namespace tinyptq
