// SIMD int8 Conv2D kernels vs ref::conv2d, bit for bit: every conv kernel this CPU can run (each table of
// available_kernels() and best_kernels()) over a sweep of channel counts, kernels, strides, asymmetric pads,
// dilations, batches, zero points at the extremes and the worst-case saturating values; the same for every
// depthwise kernel. Each CPU sweeps the kernels it runs: AVX-512 VNNI, AVX-VNNI (ymm), AVX2, reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/int8/kernel_table.h"
#include "kernels/int8/reference/conv2d.h"
#include "quant/requant.h"

namespace tinyptq::int8 {
namespace {

std::vector<const ConvKernel*> conv_kernels() {
  std::vector<const ConvKernel*> kernels;
  std::vector<const KernelTable*> tables = available_kernels();
  tables.push_back(&best_kernels());
  for (const KernelTable* t : tables)
    if (std::none_of(kernels.begin(), kernels.end(),
                     [&](const ConvKernel* k) { return k->run == t->conv.run; }))
      kernels.push_back(&t->conv);
  return kernels;
}

struct Case {
  int64_t in_h = 6, in_w = 7, in_c = 1, out_c = 1, batch = 1;
  int64_t groups = 1;  // in_c for depthwise
  Window2d window;
  int32_t zx = 0, zy = 0, out_min = 0, out_max = 255;
  enum class Values { kRandom, kMax, kMin } values = Values::kRandom;
  bool weight_zero_points = false;
  // Integer requantization (QuantizeMultiplier of each M); kLarge also gives some channels M ≥ 1
  // (shift > 0) and one M = 0; kTies uses M = 2^-6..2^-8, so that v·M lands exactly on a half (the
  // rounding-divide ties, negative ones included) for about one output in 64..256.
  enum class Fixed { kNone, kSmall, kLarge, kTies } fixed = Fixed::kNone;
  uint32_t seed = 1;

  std::string describe() const {
    std::ostringstream s;
    s << "in " << batch << "x" << in_h << "x" << in_w << "x" << in_c << " out_c " << out_c << " g " << groups << " k "
      << window.kernel_h << "x" << window.kernel_w << " s " << window.stride_h << "," << window.stride_w
      << " d " << window.dilation_h << "," << window.dilation_w << " pads " << window.pad_top << ","
      << window.pad_left << "," << window.pad_bottom << "," << window.pad_right << " zx " << zx << " zy "
      << zy << " clamp [" << out_min << "," << out_max << "] zw " << weight_zero_points << " values "
      << int(values) << " fixed " << int(fixed);
    return s.str();
  }
};

// Outputs compared, and those strictly inside the clamp range (the sweep must exercise the rounding).
int64_t outputs = 0, interior = 0;

// Runs ref::conv2d and `kernel` on the same data; fails at the first differing output element.
void expect_same_as_reference(const ConvKernel& kernel, const Case& c) {
  SCOPED_TRACE(std::string(kernel.name) + ": " + c.describe());
  ConvParams p;
  p.shape = make_conv_shape(c.in_h, c.in_w, c.in_c, c.out_c, c.groups, c.window);
  p.input_zero_point = c.zx;
  p.output = {c.zy, c.out_min, c.out_max};
  const ConvShape& s = p.shape;
  std::mt19937 rng(c.seed);
  std::uniform_int_distribution<int> u8(0, 255), s8(-128, 127), small(-5000, 5000);
  std::vector<uint8_t> x(size_t(c.batch * s.in_h * s.in_w * s.in_c));
  std::vector<int8_t> w(size_t(s.out_c * s.taps()));
  std::vector<int32_t> bias(size_t(s.out_c)), zw(size_t(s.out_c), 0);
  std::vector<float> mult(size_t(s.out_c));
  for (auto& v : x)
    v = uint8_t(c.values == Case::Values::kMax ? 255 : c.values == Case::Values::kMin ? 0 : u8(rng));
  for (auto& v : w) v = int8_t(c.values == Case::Values::kRandom ? s8(rng) : -128);
  // acc · M spans tens of codes (|x − zx|·|w| ≈ 100·74 per tap, random signs); the power-of-two
  // multipliers make exact .5 ties (half-even rounding) appear.
  const float base = 60.0f / (std::sqrt(float(s.taps())) * 128 * 64);
  const float tie = std::exp2(std::floor(std::log2(base)));
  for (int64_t oc = 0; oc < s.out_c; ++oc) {
    bias[size_t(oc)] = small(rng);
    if (c.weight_zero_points) zw[size_t(oc)] = oc % 3 == 0 ? 127 : oc % 3 == 1 ? -128 : s8(rng);
    mult[size_t(oc)] = oc % 4 == 0 ? tie : base * float(1 + oc % 7);
  }
  std::vector<FixedPointMultiplier> fixed;
  if (c.fixed != Case::Fixed::kNone) {
    for (int64_t oc = 0; oc < s.out_c; ++oc) {
      double m = mult[size_t(oc)];
      if (c.fixed == Case::Fixed::kLarge && oc % 5 == 3) m = 1.0 + 0.37 * double(oc % 4);
      if (c.fixed == Case::Fixed::kLarge && oc == 1) m = 0;
      if (c.fixed == Case::Fixed::kTies) m = std::ldexp(1.0, -int(6 + oc % 3));
      fixed.push_back(quantize_multiplier(m));
    }
  }
  ASSERT_TRUE(fits_int32_accumulator(s.taps(), bias.data(), s.out_c));
  const QuantizedWeights qw{w.data(), bias.data(), zw.data(), mult.data(), fixed.empty() ? nullptr : fixed.data()};

  PackedWeights ref_weights, fast_weights;
  ref::conv2d_pack(p, qw, &ref_weights);
  ConvParams ref_params = p;
  ref_params.weights = &ref_weights;
  const size_t out_size = size_t(c.batch * s.out_h * s.out_w * s.out_c);
  std::vector<uint8_t> want(out_size), got(out_size, 0xAB);
  ref::conv2d(ref_params, x.data(), want.data(), c.batch, {0, s.out_h}, nullptr);

  ASSERT_TRUE(!kernel.supports || kernel.supports(s));
  kernel.pack(p, qw, &fast_weights);
  ConvParams fast_params = p;
  fast_params.weights = &fast_weights;
  std::vector<uint8_t> scratch(kernel.scratch_bytes(p) + 1);
  const int64_t split = s.out_h / 2;  // two calls on row ranges, as the engine splits work
  kernel.run(fast_params, x.data(), got.data(), c.batch, {0, split}, scratch.data());
  kernel.run(fast_params, x.data(), got.data(), c.batch, {split, s.out_h}, scratch.data());
  for (uint8_t v : want) interior += v > c.out_min && v < c.out_max;
  outputs += int64_t(out_size);
  for (size_t i = 0; i < out_size; ++i) {
    if (got[i] != want[i]) {
      const size_t oc = i % size_t(s.out_c), px = i / size_t(s.out_c);
      FAIL() << "first difference at flat index " << i << " (pixel " << px << ", out channel " << oc
             << "): got " << int(got[i]) << ", reference " << int(want[i]);
    }
  }
}

TEST(IntFastConv, SweepBitExactAgainstReference) {
  const int64_t in_cs[] = {1, 3, 4, 16, 17, 32, 64}, out_cs[] = {1, 10, 16, 17, 64};
  const int32_t zero_points[] = {0, 255, 128, 3};
  int64_t n = 0;
  outputs = interior = 0;
  for (const ConvKernel* k : conv_kernels())
    for (int64_t in_c : in_cs)
      for (int64_t out_c : out_cs)
        for (int64_t kernel : {1, 3})
          for (int64_t stride : {1, 2}) {
            Case c;
            c.in_c = in_c, c.out_c = out_c, c.seed = uint32_t(++n);
            c.batch = n % 3 == 0 ? 7 : 1;
            c.window.kernel_h = c.window.kernel_w = kernel;
            c.window.stride_h = c.window.stride_w = stride;
            c.window.pad_top = kernel == 3 ? 1 : 0, c.window.pad_left = kernel == 3 ? 2 : 1;
            c.window.pad_bottom = kernel == 3 ? 0 : 1, c.window.pad_right = kernel == 3 ? 1 : 0;
            c.zx = zero_points[n % 4], c.zy = zero_points[(n / 4) % 4];
            c.out_min = n % 2 && c.zy < 255 ? c.zy : 0;  // fused Relu on every other case
            c.weight_zero_points = n % 5 < 2;
            expect_same_as_reference(*k, c);
            if (::testing::Test::HasFatalFailure()) return;
          }
  EXPECT_GT(double(interior), 0.3 * double(outputs)) << "the sweep's outputs are mostly clamped";
}

// The kernels that implement the integer requantization (fixed_point): the same sweep with fixed-point
// multipliers, all M < 1 (the vector path) and with some M ≥ 1 and M = 0 (the per-lane fallback), and the
// saturating values.
TEST(IntFastConv, IntegerRequantizationBitExactAgainstReference) {
  int64_t n = 0, kernels = 0;
  outputs = interior = 0;
  for (const ConvKernel* k : conv_kernels()) {
    if (!k->fixed_point) continue;
    ++kernels;
    for (int64_t in_c : {1, 3, 16, 17, 64})
      for (int64_t out_c : {1, 10, 16, 17, 64})
        for (int64_t kernel : {1, 3})
          for (auto fixed : {Case::Fixed::kSmall, Case::Fixed::kLarge, Case::Fixed::kTies}) {
            Case c;
            c.in_c = in_c, c.out_c = out_c, c.seed = uint32_t(1000 + ++n), c.fixed = fixed;
            c.batch = n % 3 == 0 ? 5 : 1;
            c.window.kernel_h = c.window.kernel_w = kernel;
            c.window.stride_h = c.window.stride_w = n % 2 ? 1 : 2;
            c.window.pad_top = c.window.pad_left = kernel == 3 ? 1 : 0;
            c.window.pad_bottom = c.window.pad_right = kernel == 3 ? 1 : 0;
            c.zx = n % 4 == 0 ? 255 : 128, c.zy = n % 3 == 0 ? 0 : 128;
            c.out_min = n % 2 && c.zy < 255 ? c.zy : 0;
            c.weight_zero_points = n % 5 < 2;
            expect_same_as_reference(*k, c);
            if (::testing::Test::HasFatalFailure()) return;
          }
    for (auto values : {Case::Values::kMax, Case::Values::kMin}) {
      Case c;
      c.in_c = 64, c.out_c = 17, c.batch = 3, c.weight_zero_points = true, c.fixed = Case::Fixed::kLarge;
      c.window = {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false};
      c.values = values, c.zx = values == Case::Values::kMax ? 0 : 255, c.zy = 128;
      expect_same_as_reference(*k, c);
    }
  }
  EXPECT_GE(kernels, 1);  // the reference kernel is always one
  EXPECT_GT(double(interior), 0.3 * double(outputs)) << "the sweep's outputs are mostly clamped";
}

TEST(IntFastConv, DilationNonSquareAndWidePads) {
  int64_t n = 100;
  for (const ConvKernel* k : conv_kernels())
    for (int64_t in_c : {5, 64}) {
      Case c;
      c.in_h = 9, c.in_w = 11, c.in_c = in_c, c.out_c = 33, c.batch = 2, c.seed = uint32_t(++n);
      c.window = {2, 3, 2, 1, 2, 3, 3, 0, 1, 4, false};
      c.zx = 77, c.zy = 200, c.weight_zero_points = true;
      expect_same_as_reference(*k, c);
      c.window = {5, 1, 1, 3, 1, 1, 0, 2, 2, 2, false};
      c.zx = 255, c.zy = 0, c.weight_zero_points = false;
      expect_same_as_reference(*k, c);
    }
}

TEST(IntFastConv, WorstCaseSaturatingValues) {
  for (const ConvKernel* k : conv_kernels())
    for (int64_t in_c : {3, 64})
      for (bool zw : {false, true}) {
        Case c;
        c.in_c = in_c, c.out_c = 17, c.batch = 7, c.weight_zero_points = zw;
        c.window = {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false};
        c.values = Case::Values::kMax, c.zx = 0, c.zy = 128;  // every product 255 · −128
        expect_same_as_reference(*k, c);
        c.values = Case::Values::kMin, c.zx = 255, c.zy = 0;  // (0 − 255)(−128 − zw); pads hold 255
        expect_same_as_reference(*k, c);
      }
}

// Every table's depthwise kernel (the engine's choice for groups = in_c = out_c) against ref::conv2d:
// channel counts around the 16-channel block (tails of 1..15), the 3×3 and 5×5 windows of MobileNets with
// strides 1 and 2, dilation, asymmetric pads, zero points at the extremes, weight zero points, saturation.
std::vector<const ConvKernel*> depthwise_kernels() {
  std::vector<const ConvKernel*> kernels;
  std::vector<const KernelTable*> tables = available_kernels();
  tables.push_back(&best_kernels());
  for (const KernelTable* t : tables)
    if (std::none_of(kernels.begin(), kernels.end(), [&](const ConvKernel* k) { return k->run == t->depthwise.run; }))
      kernels.push_back(&t->depthwise);
  return kernels;
}

TEST(IntFastDepthwise, SweepBitExactAgainstReference) {
  const std::vector<const ConvKernel*> kernels = depthwise_kernels();
  const bool avx2 = __builtin_cpu_supports("avx2");
  const bool vnni = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                    __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  EXPECT_EQ(kernels.size(), size_t(1 + avx2 + vnni)) << "reference + the AVX2 and AVX-512 depthwise kernels";
  const int32_t zero_points[] = {0, 255, 128, 3};
  int64_t n = 500;
  outputs = interior = 0;
  for (const ConvKernel* k : kernels)
    for (int64_t ch : {2, 8, 15, 16, 17, 24, 32, 40, 64, 96})
      for (int64_t kernel : {3, 5})
        for (int64_t stride : {1, 2})
          for (int64_t dilation : {1, 2}) {
            Case c;
            c.in_h = 9, c.in_w = 8 + n % 3;
            c.in_c = c.out_c = c.groups = ch, c.seed = uint32_t(++n);
            c.batch = n % 4 == 0 ? 3 : 1;
            c.window.kernel_h = c.window.kernel_w = kernel;
            c.window.stride_h = c.window.stride_w = stride;
            c.window.dilation_h = c.window.dilation_w = dilation;
            c.window.pad_top = kernel / 2, c.window.pad_left = n % 2 ? kernel / 2 : 0;
            c.window.pad_bottom = n % 3 == 0 ? 0 : kernel / 2, c.window.pad_right = kernel / 2;
            c.zx = zero_points[n % 4], c.zy = zero_points[(n / 4) % 4];
            c.out_min = n % 2 && c.zy < 255 ? c.zy : 0;
            c.out_max = n % 7 == 0 && c.zy < 250 ? c.zy + 5 : 255;  // Relu6-like clamp now and then
            c.weight_zero_points = n % 5 < 2;
            c.values = n % 11 == 0 ? Case::Values::kMax : n % 13 == 0 ? Case::Values::kMin : Case::Values::kRandom;
            expect_same_as_reference(*k, c);
            if (::testing::Test::HasFatalFailure()) return;
          }
  EXPECT_GT(double(interior), 0.25 * double(outputs)) << "the sweep's outputs are mostly clamped (1 in 7 cases clamps to 6 codes)";
}

// Every channel count 2..80 (the AVX-512 kernel packs 64/C pixels per vector when C divides 64, else one
// pixel per 64-channel block with a masked tail) with 3×3, 5×5, 1×1 and 3×1 windows at strides 1 and 2,
// rows wide enough for full and partial multi-pixel vectors (32 pixels at C = 2) on both sides of the
// padded border, batches 1..3, per-channel multipliers, zero points, weight zero points and Relu clamps.
TEST(IntFastDepthwise, EveryChannelCountAndWindow) {
  const int32_t zero_points[] = {0, 255, 128, 3, 77};
  const int64_t windows[][2] = {{3, 3}, {5, 5}, {1, 1}, {3, 1}};
  int64_t n = 2000;
  outputs = interior = 0;
  for (const ConvKernel* k : depthwise_kernels())
    for (int64_t ch = 2; ch <= 80; ++ch)
      for (const auto& kw : windows)
        for (int64_t stride : {1, 2}) {
          Case c;
          c.in_h = 4 + n % 3, c.in_w = ch <= 8 ? 66 + n % 9 : 9 + n % 13;
          c.in_c = c.out_c = c.groups = ch, c.seed = uint32_t(++n), c.batch = 1 + n % 3;
          c.window.kernel_h = kw[0], c.window.kernel_w = kw[1];
          c.window.stride_h = c.window.stride_w = stride;
          c.window.dilation_h = c.window.dilation_w = kw[0] == 3 && n % 6 == 0 ? 2 : 1;
          c.window.pad_top = kw[0] / 2, c.window.pad_bottom = n % 3 == 0 ? 0 : kw[0] / 2;
          c.window.pad_left = n % 2 ? kw[1] / 2 : 0, c.window.pad_right = n % 4 == 1 ? kw[1] : kw[1] / 2;
          c.zx = zero_points[n % 5], c.zy = zero_points[(n / 5) % 5];
          c.out_min = n % 2 && c.zy < 255 ? c.zy : 0;
          c.out_max = n % 7 == 0 && c.zy < 250 ? c.zy + 6 : 255;  // Relu6-like
          c.weight_zero_points = n % 5 < 2;
          c.values = n % 17 == 0 ? Case::Values::kMax : n % 19 == 0 ? Case::Values::kMin : Case::Values::kRandom;
          expect_same_as_reference(*k, c);
          if (::testing::Test::HasFatalFailure()) return;
        }
  EXPECT_GT(double(interior), 0.25 * double(outputs)) << "the sweep's outputs are mostly clamped";
}

TEST(IntFastConv, BestKernelFollowsTheCpu) {
  const bool vnni = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                    __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  const bool avx2 = __builtin_cpu_supports("avx2");
  const bool avxvnni = avx2 && __builtin_cpu_supports("avxvnni");
  EXPECT_EQ(std::string(best_kernels().isa), vnni      ? "avx512-vnni"
                                             : avxvnni ? "avx-vnni"
                                             : avx2    ? "avx2"
                                                       : "reference");
  // reference + each SIMD kernel, all swept
  EXPECT_EQ(conv_kernels().size(), size_t(1 + vnni + avx2 + avxvnni));
}

TEST(IntFastConv, KernelTablesByName) {
  for (const KernelTable* t : available_kernels()) EXPECT_EQ(&kernels_by_name(t->isa), t);
  EXPECT_EQ(&kernels_by_name("best"), &best_kernels());
  EXPECT_THROW(kernels_by_name("avx1024"), Error);
  for (const char* name : kKernelTableNames) {  // every known name: its table, or "needs CPU features"
    bool runs = false;
    for (const KernelTable* t : available_kernels()) runs = runs || std::string(t->isa) == name;
    if (!runs) EXPECT_THROW(kernels_by_name(name), Error) << name;
  }
}

}  // namespace
}  // namespace tinyptq::int8

namespace tinyptq::int8 {
namespace {

// Rows long enough for full 16/8/6/4/3-pixel tiles plus every remainder, and 1, 2, 3 and 4 channel blocks
// (the tile shapes the VNNI kernels pick by out_c), and last blocks with 8 of 16 channels (24, 40).
TEST(IntFastConv, WideRowsEveryTileShape) {
  int64_t n = 300;
  for (const ConvKernel* k : conv_kernels())
    for (int64_t in_w : {16, 23, 37})
      for (int64_t out_c : {16, 24, 32, 40, 48, 64})
        for (int64_t stride : {1, 2}) {
          Case c;
          c.in_h = 5, c.in_w = in_w, c.in_c = n % 2 ? 3 : 16, c.out_c = out_c, c.seed = uint32_t(++n);
          c.batch = n % 4 == 0 ? 7 : 1;
          c.window = {3, 3, stride, stride, 1, 1, 1, 2, 0, 1, false};
          c.zx = int32_t(n % 3) * 100, c.zy = 128, c.weight_zero_points = n % 3 == 0;
          expect_same_as_reference(*k, c);
          if (::testing::Test::HasFatalFailure()) return;
        }
}

}  // namespace
}  // namespace tinyptq::int8
