// SIMD int8 Gemm, Add, AveragePool, GlobalAveragePool, Quantize and Dequantize kernels vs the reference
// kernels of the same op, bit for bit: every kernel table this CPU runs, over sweeps of element counts
// (every vector tail), odd channel counts, zero points and clamps at the extremes, worst-case values,
// and NaN/±inf inputs to Quantize. Each failure names the table, the case and the first differing index.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8 {
namespace {

const KernelTable& ref() { return reference_kernels(); }

template <typename T>
void expect_equal(const std::vector<T>& want, const std::vector<T>& got, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::memcmp(&want[i], &got[i], sizeof(T)) != 0) {
      FAIL() << what << ": first difference at index " << i << ": got " << double(got[i]) << ", reference "
             << double(want[i]);
    }
  }
}

std::vector<uint8_t> random_u8(std::mt19937& rng, int64_t n) {
  std::uniform_int_distribution<int> u8(0, 255);
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = uint8_t(u8(rng));
  return v;
}

// t's Add against the reference's on random inputs of `count` elements (count 33: the extremes a = 255,
// b = 0), checking that nothing is written past the end. what names the case in a failure.
void expect_add_matches_reference(const KernelTable& t, const AddParams& p, int64_t count, std::mt19937& rng,
                                  const std::string& what) {
  std::vector<uint8_t> a = random_u8(rng, count), b = random_u8(rng, count);
  if (count == 33) std::fill(a.begin(), a.end(), 255), std::fill(b.begin(), b.end(), 0);
  std::vector<uint8_t> want(static_cast<size_t>(count)), got(static_cast<size_t>(count) + 1, 0xAB);
  ref().add.run(p, a.data(), b.data(), want.data(), count);
  t.add.run(p, a.data(), b.data(), got.data(), count);
  EXPECT_EQ(got[size_t(count)], 0xAB) << t.add.name << " wrote past the end";
  got.pop_back();
  expect_equal(want, got, std::string(t.add.name) + " " + what + ", count " + std::to_string(count));
}

// Integer (TFLite) Add: every table whose Add is fixed_point against the reference, over tails, scale
// ratios (equal scales give power-of-two multipliers, so the rounding divides meet exact halves), output
// clamps and an output multiplier ≥ 1 (the scalar fallback).
TEST(IntFastOps, IntegerAddEveryTailAndScaleRatio) {
  std::mt19937 rng(12);
  const OutputStage stages[] = {{0, 0, 255}, {128, 128, 255}, {255, 0, 255}, {17, 17, 200}};
  const float scales[][3] = {{0.04f, 0.04f, 0.04f},    {0.05f, 0.02f, 0.06f}, {0.0917f, 0.1541f, 0.0402f},
                             {0.01f, 0.3f, 0.02f},      {0.02f, 0.02f, 0.01f}, {0.5f, 0.25f, 1e-8f}};
  int64_t cases = 0, tables = 0;
  for (const KernelTable* t : available_kernels()) {
    if (!t->add.fixed_point) continue;
    ++tables;
    for (int64_t count : {1, 7, 8, 9, 15, 16, 17, 33, 64, 100, 1023})
      for (const OutputStage& out : stages)
        for (const auto& sc : scales) {
          AddParams p;
          p.a_zero_point = int32_t(count % 256), p.b_zero_point = 255 - int32_t(count % 256);
          p.output = out;
          set_integer_add(p, sc[0], sc[1], sc[2]);
          expect_add_matches_reference(*t, p, count, rng,
                                       "integer, scales " + std::to_string(sc[0]) + " " + std::to_string(sc[1]) +
                                           " " + std::to_string(sc[2]) + ", zy " + std::to_string(out.zero_point));
          if (::testing::Test::HasFatalFailure()) return;
          ++cases;
        }
  }
  EXPECT_GE(tables, 1);  // the reference Add computes the integer arithmetic
  EXPECT_GT(cases, 0);
}

// The vector Add scales each input by MBQM((q − z)·2^20, m) in 32-bit lanes, splitting m at bit 11
// (fixed_point_avx512.h, mbqm_shifted_small): input multipliers whose low 11 bits make d·m_low land on an
// exact half (2^10), just below or above it, or on 0 (random codes, about half of them odd), at several
// shifts.
TEST(IntFastOps, IntegerAddInputMultiplierLowBits) {
  std::mt19937 rng(16);
  int64_t cases = 0;
  for (const KernelTable* t : available_kernels()) {
    if (!t->add.fixed_point) continue;
    for (int32_t low : {0, 1, 1 << 9, (1 << 10) - 1, 1 << 10, (1 << 10) + 1, (1 << 11) - 1})
      for (int shift : {0, -1, -4, -12}) {
        AddParams p;
        p.a_zero_point = 3, p.b_zero_point = 250;
        p.output = {100, 0, 255};
        set_integer_add(p, 0.05f, 0.02f, 0.06f);
        p.a_fixed = {(1 << 30) + (123 << 11) + low, shift};
        p.b_fixed = {(1 << 30) + (0x7FFFF << 11) - (1 << 11) + low, shift - 1};
        expect_add_matches_reference(*t, p, 256 + 17, rng,
                                     "input multipliers low bits " + std::to_string(low) + ", shift " +
                                         std::to_string(shift));
        if (::testing::Test::HasFatalFailure()) return;
        ++cases;
      }
  }
  EXPECT_GT(cases, 0);  // the reference table's Add is fixed_point too
}

TEST(IntFastOps, AddEveryTailAndQuantization) {
  std::mt19937 rng(11);
  const OutputStage stages[] = {{0, 0, 255}, {128, 128, 255}, {255, 0, 255}, {17, 17, 200}};
  int64_t cases = 0;
  for (const KernelTable* t : available_kernels())
    for (int64_t count : {1, 7, 8, 15, 16, 17, 31, 33, 64, 100, 1023})
      for (const OutputStage& out : stages) {
        AddParams p;
        p.a_zero_point = int32_t(count % 256), p.b_zero_point = 255 - int32_t(count % 256);
        p.a_multiplier = 0.37f + float(count % 5) * 0.5f, p.b_multiplier = 1.0f / 3.0f;
        if (count == 64) p.a_multiplier = p.b_multiplier = 0.5f;  // exact .5 ties: half to even
        p.output = out;
        expect_add_matches_reference(*t, p, count, rng, "float, zy " + std::to_string(out.zero_point));
        ++cases;
      }
  EXPECT_GT(cases, 0);
}

TEST(IntFastOps, QuantizeNanInfTiesAndSaturation) {
  std::mt19937 rng(12);
  std::uniform_real_distribution<float> dist(-300.0f, 300.0f);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (const KernelTable* t : available_kernels())
    for (int64_t count : {1, 5, 8, 16, 19, 47, 3072})
      for (float scale : {1.0f, 0.5f, 0.0235f, 3.0f}) {
        QuantizeParams p;
        p.scale = scale;
        p.output = count % 2 ? OutputStage{128, 0, 255} : OutputStage{0, 0, 255};
        std::vector<float> x(static_cast<size_t>(count));
        for (auto& v : x) v = dist(rng);
        const float specials[] = {nan, inf, -inf, 0.5f * scale, 1.5f * scale, 2.5f * scale, -0.5f * scale, -0.0f};
        for (size_t i = 0; i < x.size() && i < 16; ++i) x[i * 3 % x.size()] = specials[i % 8];
        std::vector<uint8_t> want(static_cast<size_t>(count)), got(static_cast<size_t>(count));
        ref().quantize.run(p, x.data(), want.data(), count);
        t->quantize.run(p, x.data(), got.data(), count);
        expect_equal(want, got, std::string(t->quantize.name) + " count " + std::to_string(count));
      }
}

TEST(IntFastOps, DequantizeEveryTail) {
  std::mt19937 rng(13);
  for (const KernelTable* t : available_kernels())
    for (int64_t count : {1, 8, 9, 16, 17, 40, 640}) {
      DequantizeParams p{0.0173f, int32_t(count * 7 % 256)};
      const std::vector<uint8_t> x = random_u8(rng, count);
      std::vector<float> want(static_cast<size_t>(count)), got(static_cast<size_t>(count));
      ref().dequantize.run(p, x.data(), want.data(), count);
      t->dequantize.run(p, x.data(), got.data(), count);
      expect_equal(want, got, std::string(t->dequantize.name) + " count " + std::to_string(count));
    }
}

// The output stages of a pool kernel: float; integer with equal quantizations (rounded_average, ties at
// even divisors); integer with M < 1 (vector MBQM) and M ≥ 1 (shift > 0: the scalar fallback).
enum class PoolArith { kFloat, kIntegerSame, kIntegerFixed, kIntegerFixedAboveOne };
constexpr PoolArith kPoolAriths[] = {PoolArith::kFloat, PoolArith::kIntegerSame, PoolArith::kIntegerFixed,
                                     PoolArith::kIntegerFixedAboveOne};
const char* pool_arith_name(PoolArith a) {
  switch (a) {
    case PoolArith::kFloat: return "float";
    case PoolArith::kIntegerSame: return "integer same-quant";
    case PoolArith::kIntegerFixed: return "integer M<1";
    case PoolArith::kIntegerFixedAboveOne: return "integer M>=1";
  }
  return "?";
}

TEST(IntFastOps, GlobalAveragePoolOddChannelsAndBatch) {
  std::mt19937 rng(14);
  for (const KernelTable* t : available_kernels())
    for (PoolArith arith : kPoolAriths)
      for (int64_t channels : {1, 3, 8, 16, 17, 64, 65})
        for (int64_t size : {1, 49, 64})
          for (int64_t images : {1, 7}) {
            if (arith != PoolArith::kFloat && !t->global_avgpool.fixed_point) continue;
            GlobalAvgPoolParams p;
            p.image_size = size, p.channels = channels;
            p.input_zero_point = int32_t(channels * 13 % 256);
            p.multiplier = 0.9f / float(size);
            p.output = images == 7 ? OutputStage{0, 0, 255} : OutputStage{200, 200, 255};
            p.integer = arith != PoolArith::kFloat;
            if (arith == PoolArith::kIntegerSame) {
              p.same_quant = true;
              p.output.zero_point = p.input_zero_point, p.output.min = images == 7 ? 0 : 30;
            }
            if (arith == PoolArith::kIntegerFixed) p.fixed = quantize_multiplier(0.9 / double(size));
            if (arith == PoolArith::kIntegerFixedAboveOne) p.fixed = quantize_multiplier(1.5);
            std::vector<uint8_t> x = random_u8(rng, images * size * channels);
            if (channels == 17) std::fill(x.begin(), x.end(), 255);
            std::vector<uint8_t> want(static_cast<size_t>(images * channels)), got(static_cast<size_t>(images * channels));
            ref().global_avgpool.run(p, x.data(), want.data(), images);
            t->global_avgpool.run(p, x.data(), got.data(), images);
            expect_equal(want, got, std::string(t->global_avgpool.name) + " " + pool_arith_name(arith) +
                                        " channels " + std::to_string(channels) + " size " + std::to_string(size) +
                                        " images " + std::to_string(images));
          }
}

TEST(IntFastOps, AveragePoolPadsStridesAndCeilMode) {
  std::mt19937 rng(15);
  struct PoolCase {
    int64_t h, w, c;
    Window2d win;
    bool include_pad;
  };
  const PoolCase cases[] = {
      {8, 8, 64, {8, 8, 1, 1, 1, 1, 0, 0, 0, 0, false}, false},   // ResNet8's 8×8 pool
      {7, 9, 17, {3, 3, 2, 2, 1, 1, 1, 0, 1, 2, false}, false},   // asymmetric pads, odd channels
      {7, 9, 17, {3, 3, 2, 2, 1, 1, 1, 0, 1, 2, false}, true},    // count_include_pad
      {6, 6, 5, {2, 3, 2, 2, 1, 1, 0, 1, 0, 0, true}, false},     // ceil mode
      {5, 5, 33, {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false}, true},
  };
  // Output scales: 0.04 (M = 1.25/d: ≥ 1 at d = 1, the scalar fallback, else < 1), the input's own
  // (equal quantizations: rounded_average), and 0.5 (M = 0.1/d).
  for (const KernelTable* t : available_kernels())
    for (PoolArith arith : {PoolArith::kFloat, PoolArith::kIntegerSame, PoolArith::kIntegerFixed})
      for (const PoolCase& pc : cases)
        for (int64_t images : {1, 7}) {
        if (arith != PoolArith::kFloat && !t->avgpool.fixed_point) continue;
        AvgPoolParams p;
        p.shape = make_pool_shape(pc.h, pc.w, pc.c, pc.win);
        p.count_include_pad = pc.include_pad;
        p.input_zero_point = 37, p.input_scale = 0.05f, p.output_scale = images == 7 ? 0.5f : 0.04f;
        p.output = {10, 10, 250};
        p.integer = arith != PoolArith::kFloat;
        if (arith == PoolArith::kIntegerSame) p.output_scale = p.input_scale, p.output = {37, 0, 255};
        const PoolShape& s = p.shape;
        const std::vector<uint8_t> x = random_u8(rng, images * s.in_h * s.in_w * s.channels);
        const size_t out = size_t(images * s.out_h * s.out_w * s.channels);
        std::vector<uint8_t> want(out), got(out);
        ref().avgpool.run(p, x.data(), want.data(), images, {0, s.out_h});
        const int64_t split = s.out_h / 2;
        t->avgpool.run(p, x.data(), got.data(), images, {0, split});
        t->avgpool.run(p, x.data(), got.data(), images, {split, s.out_h});
        expect_equal(want, got, std::string(t->avgpool.name) + " " + pool_arith_name(arith) + " " + std::to_string(pc.h) + "x" +
                                    std::to_string(pc.w) + "x" + std::to_string(pc.c) + " images " +
                                    std::to_string(images));
      }
}

TEST(IntFastOps, GemmShapesZeroPointsAndSaturation) {
  std::mt19937 rng(16);
  std::uniform_int_distribution<int> s8(-128, 127), small(-3000, 3000);
  int64_t n_case = 0;
  for (const KernelTable* t : available_kernels())
    for (int64_t k : {1, 3, 4, 17, 64, 130})
      for (int64_t n : {1, 10, 16, 33, 64})
        for (int64_t rows : {1, 7, 20}) {
          ++n_case;
          GemmParams p;
          p.k = k, p.n = n;
          p.input_zero_point = int32_t(n_case * 29 % 256);
          p.output = n_case % 2 ? OutputStage{128, 0, 255} : OutputStage{0, 0, 255};
          const bool worst = n_case % 7 == 0;
          std::vector<uint8_t> a = random_u8(rng, rows * k);
          std::vector<int8_t> w(static_cast<size_t>(n * k));
          for (auto& v : w) v = int8_t(worst ? -128 : s8(rng));
          if (worst) std::fill(a.begin(), a.end(), 255);
          std::vector<int32_t> bias(static_cast<size_t>(n)), zw(static_cast<size_t>(n), 0);
          std::vector<float> mult(static_cast<size_t>(n));
          for (int64_t j = 0; j < n; ++j) {
            bias[size_t(j)] = small(rng);
            if (n_case % 3 == 0) zw[size_t(j)] = j % 2 ? 127 : -128;
            mult[size_t(j)] = 30.0f / (std::sqrt(float(k)) * 128 * 64) * float(1 + j % 5);
          }
          const QuantizedWeights qw{w.data(), bias.data(), zw.data(), mult.data()};
          const GemmKernel& fast = t->gemm.supports && !t->gemm.supports(p) ? ref().gemm : t->gemm;
          PackedWeights rw, fw;
          ref().gemm.pack(p, qw, &rw);
          fast.pack(p, qw, &fw);
          GemmParams rp = p, fp = p;
          rp.weights = &rw, fp.weights = &fw;
          std::vector<uint8_t> want(static_cast<size_t>(rows * n)), got(static_cast<size_t>(rows * n));
          std::vector<uint8_t> scratch(fast.scratch_bytes(fp) + 1);
          ref().gemm.run(rp, a.data(), want.data(), rows, nullptr);
          fast.run(fp, a.data(), got.data(), rows, scratch.data());
          expect_equal(want, got, std::string(fast.name) + " k " + std::to_string(k) + " n " + std::to_string(n) +
                                      " rows " + std::to_string(rows));
          if (::testing::Test::HasFatalFailure()) return;
        }
}

TEST(IntFastOps, BestTableUsesSimdKernelsOnSimdCpus) {
  const KernelTable& best = best_kernels();
  if (!__builtin_cpu_supports("avx2")) {  // a scalar CPU runs the reference table
    EXPECT_EQ(&best, &ref());
    return;
  }
  EXPECT_NE(best.add.run, ref().add.run);
  EXPECT_NE(best.quantize.run, ref().quantize.run);
  EXPECT_NE(best.dequantize.run, ref().dequantize.run);
  EXPECT_NE(best.global_avgpool.run, ref().global_avgpool.run);
}

}  // namespace
}  // namespace tinyptq::int8
