// The SIMD fixed-point helpers lane by lane against quant/requant.h's scalar formulas: MBQM on edge and
// random accumulators, the integer Add's 32-bit input scaling on every input difference d ∈ [−255, 255]
// with multipliers whose low bits put d·m on and around the exact halves that round differently, and the
// pools' rounded_average on exact ties of both signs. These intermediates carry 20 more bits than an
// output code, so the kernel sweeps (int_fast_ops_test.cc) would see an off-by-one here only rarely.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "fixed_point_lanes.h"
#include "kernels/int8/kernel_table.h"
#include "quant/requant.h"

namespace tinyptq::int8 {
namespace {

std::vector<const lanes::Helpers*> runnable() {
  std::vector<const lanes::Helpers*> h;
  if (cpu_runs_avx2_files()) h.push_back(&lanes::kAvx2);
  if (cpu_runs_avx512_files()) h.push_back(&lanes::kAvx512);
  return h;
}

// v padded with zeros to a multiple of 16 lanes.
std::vector<int32_t> padded(std::vector<int32_t> v) {
  v.resize((v.size() + 15) / 16 * 16, 0);
  return v;
}

void expect_lanes(const std::vector<int32_t>& in, const std::vector<int32_t>& got,
                  const std::function<int32_t(int32_t)>& want, const std::string& what) {
  for (size_t i = 0; i < in.size(); ++i)
    if (got[i] != want(in[i])) {
      FAIL() << what << ": input " << in[i] << " gives " << got[i] << ", scalar " << want(in[i]);
    }
}

TEST(FixedPointLanes, MbqmEdgeAndRandomAccumulators) {
  std::mt19937 rng(21);
  std::vector<int32_t> v = {0, 1, -1, 2, -2, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(),
                            std::numeric_limits<int32_t>::min() + 1, 1 << 30, -(1 << 30)};
  std::uniform_int_distribution<int32_t> any(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
  std::uniform_int_distribution<int32_t> small(-5000, 5000);
  for (int i = 0; i < 2000; ++i) v.push_back(i % 2 ? any(rng) : small(rng));
  v = padded(v);
  std::vector<int32_t> got(v.size());
  const auto helpers = runnable();
  for (const lanes::Helpers* h : helpers)
    for (double M : {0.5, 0.25, 1.0 / 64, 1.0 / 256, 0.7, 0.0123, 3e-5, 1e-9, 0.999999}) {
      const FixedPointMultiplier m = quantize_multiplier(M);
      ASSERT_LE(m.shift, 0);
      h->mbqm(v.data(), m, got.data(), int64_t(v.size()));
      expect_lanes(v, got, [m](int32_t x) { return multiply_by_quantized_multiplier(x, m); },
                   std::string(h->isa) + " mbqm M=" + std::to_string(M));
    }
  if (helpers.empty()) GTEST_SKIP() << "this CPU runs no SIMD helper";
}

TEST(FixedPointLanes, AddInputScalingEveryDifferenceAndLowBits) {
  std::vector<int32_t> d;
  for (int32_t x = -255; x <= 255; ++x) d.push_back(x);
  d = padded(d);
  std::vector<int32_t> got(d.size());
  const auto helpers = runnable();
  for (const lanes::Helpers* h : helpers)
    for (int32_t high : {1 << 19, (1 << 19) + 12345, (1 << 20) - 1})
      for (int32_t low : {0, 1, 1 << 9, (1 << 10) - 1, 1 << 10, (1 << 10) + 1, (1 << 11) - 1})
        for (int shift : {0, -1, -2, -7, -13, -20, -31}) {
          const FixedPointMultiplier m{high * (1 << 11) + low, shift};
          h->mbqm_add_input(d.data(), m, got.data(), int64_t(d.size()));
          expect_lanes(d, got,
                       [m](int32_t x) { return multiply_by_quantized_multiplier(x * (1 << kAddLeftShift), m); },
                       std::string(h->isa) + " add input, m " + std::to_string(m.multiplier) + " shift " +
                           std::to_string(shift));
        }
  if (helpers.empty()) GTEST_SKIP() << "this CPU runs no SIMD helper";
}

TEST(FixedPointLanes, RoundedAverageTiesOfBothSigns) {
  std::mt19937 rng(22);
  const auto helpers = runnable();
  for (const lanes::Helpers* h : helpers)
    for (int32_t divisor : {1, 2, 3, 4, 9, 49, 64, 65, 4096, 65536}) {
      std::vector<int32_t> s;
      for (int32_t k = -300; k <= 300; ++k) s.push_back(k * divisor + divisor / 2), s.push_back(k * divisor - divisor / 2);
      std::uniform_int_distribution<int32_t> any(-255 * divisor, 255 * divisor);
      for (int i = 0; i < 500; ++i) s.push_back(any(rng));
      s = padded(s);
      std::vector<int32_t> got(s.size());
      h->rounded_average(s.data(), divisor, got.data(), int64_t(s.size()));
      expect_lanes(s, got, [divisor](int32_t x) { return rounded_average(x, divisor); },
                   std::string(h->isa) + " rounded_average d=" + std::to_string(divisor));
    }
  if (helpers.empty()) GTEST_SKIP() << "this CPU runs no SIMD helper";
}

}  // namespace
}  // namespace tinyptq::int8
