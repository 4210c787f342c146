// Requantization arithmetic: each primitive against an independent exact reference (__int128), the
// integer pipeline against double precision over millions of random accumulators and multipliers, and
// the float pipeline against round-half-even in double.
#include "quant/requant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "core/error.h"

namespace tinyptq {
namespace {

using i128 = __int128;
constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax = std::numeric_limits<int32_t>::max();

int32_t saturate(i128 v) { return static_cast<int32_t>(v < kMin ? i128{kMin} : v > kMax ? i128{kMax} : v); }

// floor(n / 2^e) for any sign.
i128 floor_div_pot(i128 n, int e) {
  const i128 d = i128{1} << e;
  i128 q = n / d;  // truncates
  if (n % d != 0 && n < 0) --q;
  return q;
}

// SRDHM spec: nearest integer to a·b / 2^31, ties toward +inf, saturated.
int32_t ref_srdhm(int32_t a, int32_t b) { return saturate(floor_div_pot(i128{a} * b + (i128{1} << 30), 31)); }

// RDBPOT spec: nearest integer to x / 2^e, ties away from zero.
int32_t ref_rdbpot(int32_t x, int e) {
  const i128 mag = x < 0 ? -i128{x} : i128{x};
  const i128 q = (mag + ((i128{1} << e) >> 1)) >> e;  // |x| rounded half up
  return static_cast<int32_t>(x < 0 ? -q : q);
}

// TFLite MultiplyByQuantizedMultiplier with an unbounded left shift, then saturated.
int32_t ref_mbqm(int32_t acc, FixedPointMultiplier m) {
  if (m.shift <= 0) return ref_rdbpot(ref_srdhm(acc, m.multiplier), -m.shift);
  const i128 shifted = i128{acc} << m.shift;
  return saturate(floor_div_pot(shifted * m.multiplier + (i128{1} << 30), 31));
}

// round(acc · M) with ties away from zero, exactly: M = mant · 2^(e − 53) with a 53-bit integer mant.
int32_t ref_round_product(int32_t acc, double M) {
  int e = 0;
  const double fr = std::frexp(M, &e);
  const auto mant = static_cast<int64_t>(std::ldexp(fr, 53));
  const i128 p = i128{acc} * mant;
  const int down = 53 - e;  // > 0 for every M < 2^52
  const i128 mag = p < 0 ? -p : p;
  const i128 q = (mag + (i128{1} << (down - 1))) >> down;
  return saturate(p < 0 ? -q : q);
}

const std::vector<int32_t>& edge_values() {
  static const std::vector<int32_t> v = {kMin, kMin + 1, -(1 << 30), -65536, -32768,  -3,       -2,  -1, 0, 1,
                                         2,    3,        32768,      65536,  1 << 30, kMax - 1, kMax};
  return v;
}

int32_t random_acc(std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0:
      return static_cast<int32_t>(static_cast<uint32_t>(rng()));  // full range
    case 1:
      return static_cast<int32_t>(static_cast<int64_t>(rng() % 131072) - 65536);  // small
    case 2:
      return static_cast<int32_t>(static_cast<int64_t>(rng() % (1 << 24)) - (1 << 23));
    default:
      return edge_values()[rng() % edge_values().size()];
  }
}

TEST(Requant, SaturatingRoundingDoublingHighMulMatchesSpec) {
  const std::vector<int32_t>& edges = edge_values();
  for (const int32_t a : edges) {
    for (const int32_t b : edges)
      ASSERT_EQ(saturating_rounding_doubling_high_mul(a, b), ref_srdhm(a, b)) << a << " " << b;
  }
  std::mt19937_64 rng(1);
  for (int i = 0; i < 2000000; ++i) {
    const int32_t a = random_acc(rng), b = static_cast<int32_t>(static_cast<uint32_t>(rng()));
    ASSERT_EQ(saturating_rounding_doubling_high_mul(a, b), ref_srdhm(a, b)) << a << " " << b;
  }
  EXPECT_EQ(saturating_rounding_doubling_high_mul(kMin, kMin), kMax);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(1 << 15, 1 << 15), 1);      // +0.5 → 1
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-(1 << 15), 1 << 15), 0);   // −0.5 → 0 (ties up)
  EXPECT_EQ(saturating_rounding_doubling_high_mul(3 << 15, -(1 << 15)), -1);  // −1.5 → −1
}

TEST(Requant, RoundingDivideByPotMatchesSpec) {
  std::mt19937_64 rng(2);
  for (int e = 0; e <= 31; ++e) {
    for (const int32_t x : edge_values())
      ASSERT_EQ(rounding_divide_by_pot(x, e), ref_rdbpot(x, e)) << x << " " << e;
    for (int i = 0; i < 60000; ++i) {
      const int32_t x = random_acc(rng);
      ASSERT_EQ(rounding_divide_by_pot(x, e), ref_rdbpot(x, e)) << x << " " << e;
    }
  }
  EXPECT_EQ(rounding_divide_by_pot(5, 1), 3);    // 2.5 → 3
  EXPECT_EQ(rounding_divide_by_pot(-5, 1), -3);  // −2.5 → −3
  EXPECT_EQ(rounding_divide_by_pot(-3, 2), -1);  // −0.75 → −1
  EXPECT_EQ(rounding_divide_by_pot(kMin, 31), -1);
  EXPECT_EQ(rounding_divide_by_pot(kMax, 31), 1);
}

TEST(Requant, QuantizeMultiplierIsAccurate) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> log2m(-40.0, 30.999);
  for (int i = 0; i < 200000; ++i) {
    const double M = std::exp2(log2m(rng));
    const FixedPointMultiplier q = quantize_multiplier(M);
    if (M < std::ldexp(1.0, -32)) {
      // Only [2^-32·(1 − 2^-32), 2^-32) may round up into the representable range.
      if (q.multiplier != 0) {
        EXPECT_EQ(q.shift, -31) << M;
      }
      continue;
    }
    ASSERT_GE(q.multiplier, 1 << 30) << M;
    ASSERT_LE(q.shift, 32);
    const double represented = std::ldexp(double(q.multiplier), q.shift - 31);
    ASSERT_LE(std::fabs(represented - M), M * std::ldexp(1.0, -31)) << M;
  }
  for (int e = -32; e <= 30; ++e) {
    const FixedPointMultiplier q = quantize_multiplier(std::ldexp(1.0, e));
    EXPECT_EQ(q.multiplier, 1 << 30);
    EXPECT_EQ(q.shift, e + 1);
  }
  EXPECT_EQ(quantize_multiplier(0.0).multiplier, 0);
  EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, -34)).multiplier, 0);
  const FixedPointMultiplier near_top = quantize_multiplier(std::nextafter(2147483648.0, 0.0));
  EXPECT_EQ(near_top.multiplier, 1 << 30);
  EXPECT_EQ(near_top.shift, 32);
  EXPECT_THROW(quantize_multiplier(-0.5), Error);
  EXPECT_THROW(quantize_multiplier(2147483648.0), Error);
  EXPECT_THROW(quantize_multiplier(std::numeric_limits<double>::quiet_NaN()), Error);
  EXPECT_THROW(quantize_multiplier(std::numeric_limits<double>::infinity()), Error);
}

// The integer pipeline against its exact specification and against the real product in double:
// exact vs TFLite's definition always; within 1 of round(acc·M) always; equal to round(acc·M_q) with
// one rounding when M ≥ 1 (shift > 0).
TEST(Requant, MultiplyByQuantizedMultiplierAgainstDouble) {
  std::mt19937_64 rng(4);
  std::uniform_real_distribution<double> log2m(-34.0, 12.0);
  int64_t off_by_one = 0, total = 0;
  for (int i = 0; i < 3000000; ++i) {
    const double M = i % 50 == 0 ? std::ldexp(1.0, static_cast<int>(rng() % 40) - 34) : std::exp2(log2m(rng));
    const int32_t acc = random_acc(rng);
    const FixedPointMultiplier q = quantize_multiplier(M);
    const int32_t got = multiply_by_quantized_multiplier(acc, q);
    ASSERT_EQ(got, ref_mbqm(acc, q)) << "acc=" << acc << " M=" << M;
    const int32_t real = ref_round_product(acc, M);
    const int64_t diff = std::llabs(int64_t{got} - real);
    ASSERT_LE(diff, 1) << "acc=" << acc << " M=" << M << " got=" << got << " real=" << real;
    off_by_one += diff;
    ++total;
    if (q.shift > 0) {  // single rounding, ties up, of the quantized multiplier's exact product
      const i128 p = i128{acc} * q.multiplier;
      ASSERT_EQ(got, saturate(floor_div_pot((p << q.shift) + (i128{1} << 30), 31)));
    }
  }
  // TFLite's two roundings disagree with one rounding when SRDHM lands exactly on a tie of the second
  // (up to 25% of products for shift = −1, fewer for smaller multipliers); a sign or shift bug would put
  // most results off by one or more.
  std::printf("  off by one: %.3f%% of %lld products\n", 100.0 * double(off_by_one) / total,
              (long long)total);
  EXPECT_LT(off_by_one, total / 20);
}

TEST(Requant, MultiplyByQuantizedMultiplierEdgeCases) {
  const FixedPointMultiplier one = quantize_multiplier(1.0);
  for (const int32_t acc : edge_values()) EXPECT_EQ(multiply_by_quantized_multiplier(acc, one), acc);
  const FixedPointMultiplier two = quantize_multiplier(2.0);
  EXPECT_EQ(multiply_by_quantized_multiplier(kMax, two), kMax);
  EXPECT_EQ(multiply_by_quantized_multiplier(kMin, two), kMin);
  EXPECT_EQ(multiply_by_quantized_multiplier(-1000, two), -2000);
  const FixedPointMultiplier huge = quantize_multiplier(2147483647.0);
  EXPECT_EQ(multiply_by_quantized_multiplier(1, huge), kMax);
  EXPECT_EQ(multiply_by_quantized_multiplier(-1, huge), -kMax);
  EXPECT_EQ(multiply_by_quantized_multiplier(3, huge), kMax);
  EXPECT_EQ(multiply_by_quantized_multiplier(kMin, huge), kMin);
  const FixedPointMultiplier tiny = quantize_multiplier(std::ldexp(1.0, -33));
  for (const int32_t acc : edge_values()) EXPECT_EQ(multiply_by_quantized_multiplier(acc, tiny), 0);
  const FixedPointMultiplier half = quantize_multiplier(0.5);
  EXPECT_EQ(multiply_by_quantized_multiplier(3, half), 2);    // 1.5 → 2
  EXPECT_EQ(multiply_by_quantized_multiplier(-3, half), -1);  // −1.5 → −1: SRDHM ties toward +inf
  EXPECT_EQ(multiply_by_quantized_multiplier(kMin, half), -(1 << 30));
  const FixedPointMultiplier zero = quantize_multiplier(0.0);
  EXPECT_EQ(multiply_by_quantized_multiplier(kMin, zero), 0);
}

double round_half_even_d(double v) {
  const double r = std::round(v);
  return std::fabs(r - v) == 0.5 ? 2.0 * std::round(v / 2.0) : r;
}

TEST(Requant, FloatPathAgainstDouble) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> log2m(-30.0, 4.0);
  const int32_t zps[] = {0, 128, -5};
  const std::pair<int32_t, int32_t> ranges[] = {{0, 255}, {-128, 127}, {-8, 7}};
  for (int i = 0; i < 2000000; ++i) {
    const bool pot = i % 8 == 0;  // power-of-two multipliers: float(acc)·M is exact for |acc| ≤ 2^24
    const float M =
        pot ? std::ldexp(1.0f, static_cast<int>(rng() % 34) - 30) : static_cast<float>(std::exp2(log2m(rng)));
    const int32_t acc = random_acc(rng);
    const int k = static_cast<int>(rng() % 3);
    const int32_t zp = std::clamp(zps[k], ranges[k].first, ranges[k].second);
    const auto [lo, hi] = ranges[k];
    const int32_t got = requantize_float(acc, M, zp, lo, hi);
    const double y = round_half_even_d(double(acc) * double(M)) + zp;
    const int32_t expect = static_cast<int32_t>(std::clamp(y, double(lo), double(hi)));
    ASSERT_LE(std::abs(got - expect), 1) << "acc=" << acc << " M=" << M;
    if (pot && std::llabs(int64_t{acc}) <= (1 << 24)) {
      ASSERT_EQ(got, expect) << "acc=" << acc << " M=" << M;
    }
  }
  // Ties go to even, as cvtps2dq.
  EXPECT_EQ(requantize_float(5, 0.5f, 0, -128, 127), 2);
  EXPECT_EQ(requantize_float(7, 0.5f, 0, -128, 127), 4);
  EXPECT_EQ(requantize_float(-5, 0.5f, 0, -128, 127), -2);
  EXPECT_EQ(requantize_float(-5, 0.5f, 100, 0, 255), 98);
  EXPECT_EQ(requantize_float(kMax, 1000.0f, 0, -128, 127), 127);
  EXPECT_EQ(requantize_float(kMin, 1000.0f, 128, 0, 255), 0);
  EXPECT_EQ(requantize_float(kMin, 1e-12f, 128, 0, 255), 128);
  EXPECT_EQ(requantize_float(1, std::numeric_limits<float>::quiet_NaN(), 128, 0, 255), 0);
}

}  // namespace
}  // namespace tinyptq
