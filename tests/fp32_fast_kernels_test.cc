// Optimized FP32 kernels and the FP32 engine against the scalar reference kernels: Conv sweeps (odd channel
// counts, 1×1/3×3/1×3, strides, asymmetric pads, dilation, groups and depthwise, batch 1 and 7, fused
// residual and clamp) for every kernel table this CPU runs, Gemm and elementwise kernels, bit-identical
// results for any split of the work items and any thread count, the tap, and ResNet8 end to end on the
// CIFAR-10 test images. Tolerance: |fast − ref| ≤ 1e-4·(1 + |ref|). Each failure names the case.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/cifar.h"
#include "data/preprocess.h"
#include "engine/fp32/reference_step.h"
#include "engine/fp32_engine.h"
#include "engine/shape_inference.h"
#include "eval/evaluate.h"
#include "keras/keras_import.h"
#include "kernels/fp32/kernel_table.h"
#include "kernels/fp32/portable/conv_plan.h"
#include "kernels/fp32/portable/kernels_portable.h"
#include "test_util.h"

namespace tinyptq {
namespace {

namespace ref = fp32_ref;
constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> random_floats(std::mt19937& rng, int64_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

// First index where |got − want| > 1e-4·(1 + |want|), or -1. NaN must match NaN.
int64_t first_mismatch(const float* got, const float* want, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(want[i]) != std::isnan(got[i])) return i;
    if (!std::isnan(want[i]) && std::fabs(got[i] - want[i]) > 1e-4f * (1.0f + std::fabs(want[i]))) return i;
  }
  return -1;
}

struct ConvCase {
  int64_t n, c, m, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, group;
  bool residual;
  float lo, hi;
  std::string str() const {
    std::ostringstream s;
    s << "N" << n << " C" << c << " M" << m << " " << h << "x" << w << " k" << kh << "x" << kw << " s" << sh
      << "," << sw << " d" << dh << "," << dw << " pads " << pt << "," << pl << "," << pb << "," << pr << " g"
      << group << (residual ? " +residual" : "") << " clamp [" << lo << "," << hi << "]";
    return s.str();
  }
};

// Reference: ref::conv2d, then + residual, then clamp.
std::vector<float> reference_conv(const ref::Conv2dParams& p, const std::vector<float>& x,
                                  const std::vector<float>& w, const std::vector<float>& b,
                                  const std::vector<float>* residual, float lo, float hi) {
  std::vector<float> y(size_t(num_elements(ref::conv2d_output_shape(p))));
  ref::conv2d(p, x.data(), w.data(), b.data(), y.data());
  for (size_t i = 0; i < y.size(); ++i) {
    float v = residual ? y[i] + (*residual)[i] : y[i];
    v = v < lo ? lo : v;
    y[i] = v > hi ? hi : v;
  }
  return y;
}

void check_conv_case(const fp32::KernelTable& k, const ConvCase& cc, std::mt19937& rng) {
  SCOPED_TRACE(std::string(k.isa) + ": " + cc.str());
  ref::Window2d win;
  win.kernel_h = cc.kh, win.kernel_w = cc.kw, win.stride_h = cc.sh, win.stride_w = cc.sw;
  win.dilation_h = cc.dh, win.dilation_w = cc.dw;
  win.pad_top = cc.pt, win.pad_left = cc.pl, win.pad_bottom = cc.pb, win.pad_right = cc.pr;
  const auto p = ref::make_conv2d_params({cc.n, cc.c, cc.h, cc.w}, {cc.m, cc.c / cc.group, cc.kh, cc.kw}, win,
                                         cc.group);
  const auto x = random_floats(rng, cc.n * cc.c * cc.h * cc.w);
  const auto w = random_floats(rng, cc.m * (cc.c / cc.group) * cc.kh * cc.kw);
  const auto b = random_floats(rng, cc.m);
  const int64_t out = num_elements(ref::conv2d_output_shape(p));
  const auto r = random_floats(rng, out);
  const auto want = reference_conv(p, x, w, b, cc.residual ? &r : nullptr, cc.lo, cc.hi);

  const fp32::ConvPlan plan = fp32::make_conv_plan(p, w.data(), b.data(), cc.lo, cc.hi, k.conv);
  const fp32::ConvRunFn run = plan.implicit ? k.conv.run : fp32::conv_run_reference;
  const int64_t items = fp32::conv_items(plan, cc.n);
  std::vector<float> scratch(size_t(fp32::conv_scratch_floats(plan)) + 1);
  std::vector<float> got(size_t(out), -7.0f);
  run(plan, x.data(), cc.residual ? r.data() : nullptr, got.data(), cc.n, 0, items, nullptr, scratch.data());
  const int64_t bad = first_mismatch(got.data(), want.data(), out);
  ASSERT_EQ(bad, -1) << "output " << bad << ": got " << got[bad] << ", want " << want[bad]
                     << (plan.implicit ? " (implicit GEMM)" : " (reference path)");

  // Any split of the items, with pre-built phase planes, gives the same bits.
  std::vector<float> planes(size_t(fp32::conv_planes_floats(plan) * cc.n) + 1);
  for (int64_t i = 0; i < cc.n && fp32::conv_planes_floats(plan) > 0; ++i)
    fp32::build_phase_planes(plan, x.data() + i * plan.image_in(), planes.data() + i * fp32::conv_planes_floats(plan),
                             0, cc.c);
  std::vector<float> split(size_t(out), -7.0f);
  std::uniform_int_distribution<int64_t> cut(0, items);
  int64_t a = cut(rng), c = cut(rng);
  if (a > c) std::swap(a, c);
  const float* pre = fp32::conv_planes_floats(plan) > 0 ? planes.data() : nullptr;
  for (auto [lo, hi] : {std::pair{c, items}, std::pair{int64_t(0), a}, std::pair{a, c}})
    run(plan, x.data(), cc.residual ? r.data() : nullptr, split.data(), cc.n, lo, hi, pre, scratch.data());
  ASSERT_EQ(0, std::memcmp(split.data(), got.data(), size_t(out) * sizeof(float)))
      << "item split [0," << a << ") [" << a << "," << c << ") [" << c << "," << items << ") differs";
}

TEST(Fp32FastKernels, ConvMatchesReferenceOverShapeSweep) {
  std::mt19937 rng(42);
  std::vector<ConvCase> cases = {
      // ResNet8's layers.
      {1, 3, 16, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, false, 0, kInf},
      {7, 16, 16, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, 0, kInf},
      {1, 16, 32, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, false, 0, kInf},
      {1, 16, 32, 32, 32, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, false, -kInf, kInf},
      {7, 32, 64, 16, 16, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1, false, 0, 6},
      {1, 64, 64, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, 0, kInf},
      // Odd sizes, asymmetric pads, dilation, VALID (reference path), groups, depthwise.
      {7, 5, 9, 7, 11, 3, 3, 1, 1, 1, 1, 0, 2, 2, 0, 1, true, -0.5f, 0.5f},
      {1, 1, 1, 5, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, -kInf, kInf},
      {1, 3, 17, 9, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, false, -kInf, kInf},
      {1, 4, 8, 10, 10, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, -kInf, kInf},
      {7, 6, 6, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 6, true, 0, kInf},
      {1, 8, 12, 13, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 4, false, -kInf, kInf},
      {1, 3, 5, 6, 9, 1, 3, 1, 2, 1, 1, 0, 1, 0, 1, 1, false, -kInf, kInf},
      {1, 2, 3, 12, 12, 5, 5, 3, 3, 1, 1, 2, 1, 2, 3, 1, false, -kInf, kInf},
  };
  // Random shapes: channels 1..20, sizes 3..20, kernels 1..3, strides 1..2, pads 0..2, dilation 1..2.
  std::uniform_int_distribution<int> u(0, 1 << 20);
  for (int i = 0; i < 40; ++i) {
    ConvCase cc{};
    const int64_t groups[] = {1, 1, 2, 0};
    cc.n = (u(rng) % 2) ? 7 : 1;
    cc.kh = 1 + u(rng) % 3, cc.kw = 1 + u(rng) % 3;
    cc.sh = 1 + u(rng) % 2, cc.sw = 1 + u(rng) % 2;
    cc.dh = 1 + u(rng) % 2, cc.dw = 1 + u(rng) % 2;
    cc.pt = u(rng) % 3, cc.pl = u(rng) % 3, cc.pb = u(rng) % 3, cc.pr = u(rng) % 3;
    cc.h = 3 + u(rng) % 18, cc.w = 3 + u(rng) % 18;
    cc.h = std::max(cc.h, cc.dh * (cc.kh - 1) + 1), cc.w = std::max(cc.w, cc.dw * (cc.kw - 1) + 1);
    cc.group = groups[u(rng) % 4];
    const int64_t g = cc.group == 0 ? 1 + u(rng) % 8 : cc.group;  // 0: depthwise
    cc.c = cc.group == 0 ? g : g * (1 + u(rng) % 10);
    cc.m = cc.group == 0 ? g : g * (1 + u(rng) % 10);
    cc.group = g;
    cc.residual = u(rng) % 2;
    cc.lo = (u(rng) % 2) ? 0.0f : -kInf;
    cc.hi = (u(rng) % 3) ? kInf : 0.25f;
    cases.push_back(cc);
  }
  for (const fp32::KernelTable* k : fp32::available_kernels())
    for (const ConvCase& cc : cases) check_conv_case(*k, cc, rng);
}

TEST(Fp32FastKernels, ResnetShapesUseTheImplicitGemm) {
  for (const fp32::KernelTable* k : fp32::available_kernels()) {
    if (k->conv.mr == 0) continue;
    // Stride 1 reads x directly, except where a 4 KB channel stride (32×32 floats) with several channels
    // would put every channel's rows in one L1 set: then it copies x into padded planes.
    for (auto [c, hw, kk, s, pad] :
         {std::tuple{3, 32, 3, 1, 1}, {16, 32, 3, 2, 1}, {16, 32, 1, 2, 0}, {64, 8, 3, 1, 1}, {16, 32, 3, 1, 1}}) {
      ref::Window2d win;
      win.kernel_h = win.kernel_w = kk, win.stride_h = win.stride_w = s;
      win.pad_top = win.pad_left = win.pad_bottom = win.pad_right = pad;
      const auto p = ref::make_conv2d_params({1, c, hw, hw}, {16, c, kk, kk}, win, 1);
      std::vector<float> w(size_t(16 * c * kk * kk), 0.5f);
      const auto plan = fp32::make_conv_plan(p, w.data(), nullptr, -kInf, kInf, k->conv);
      EXPECT_TRUE(plan.implicit) << k->isa << " C" << c << " " << hw << " k" << kk << " s" << s;
      EXPECT_EQ(plan.direct, s == 1 && !(c == 16 && hw == 32)) << k->isa << " C" << c << " " << hw << " k" << kk << " s" << s;
    }
  }
}

TEST(Fp32FastKernels, GemmMatchesReference) {
  std::mt19937 rng(5);
  struct GemmCase {
    int64_t m, n, k;
    bool trans_b;
    int c_kind;  // 0 none, 1 [N], 2 [1,N], 3 [M,1], 4 [M,N], 5 scalar
    float alpha, beta;
  };
  const GemmCase cases[] = {{7, 10, 64, true, 1, 1, 1},   {1, 10, 64, false, 2, 1, 1}, {5, 3, 1, false, 0, 2, 0},
                            {4, 17, 33, true, 3, 0.5f, 2}, {3, 9, 40, false, 4, 1, -1}, {2, 1, 15, true, 5, 1, 0.5f}};
  for (const fp32::KernelTable* k : fp32::available_kernels()) {
    for (const GemmCase& gc : cases) {
      std::ostringstream name;
      name << k->isa << " M" << gc.m << " N" << gc.n << " K" << gc.k << " transB " << gc.trans_b << " C" << gc.c_kind;
      SCOPED_TRACE(name.str());
      const Shape cs[] = {{}, {gc.n}, {1, gc.n}, {gc.m, 1}, {gc.m, gc.n}, {}};
      const Shape b_shape = gc.trans_b ? Shape{gc.n, gc.k} : Shape{gc.k, gc.n};
      const Shape* c_shape = gc.c_kind ? &cs[gc.c_kind] : nullptr;
      const auto p = ref::make_gemm_params({gc.m, gc.k}, b_shape, c_shape, false, gc.trans_b, gc.alpha, gc.beta);
      const auto a = random_floats(rng, gc.m * gc.k), b = random_floats(rng, gc.n * gc.k);
      const auto c = random_floats(rng, c_shape ? num_elements(*c_shape) : 1);
      std::vector<float> want(size_t(gc.m * gc.n)), got(want.size(), -7.0f);
      ref::gemm(p, a.data(), b.data(), c_shape ? c.data() : nullptr, want.data());
      const fp32::GemmPlan plan = fp32::make_gemm_plan(p, b.data(), c_shape ? c.data() : nullptr);
      k->gemm.run(plan, a.data(), got.data(), 0, 1);
      k->gemm.run(plan, a.data(), got.data(), 1, gc.m);
      const int64_t bad = first_mismatch(got.data(), want.data(), gc.m * gc.n);
      EXPECT_EQ(bad, -1) << "output " << bad << ": got " << got[bad] << ", want " << want[bad];
    }
  }
}

TEST(Fp32FastKernels, ElementwiseMatchScalarFormulas) {
  std::mt19937 rng(9);
  for (const fp32::KernelTable* k : fp32::available_kernels()) {
    for (int64_t n : {1, 15, 16, 17, 1000}) {
      auto a = random_floats(rng, n, -3, 3), b = random_floats(rng, n, -3, 3);
      a[0] = std::numeric_limits<float>::quiet_NaN();
      for (auto [lo, hi] : {std::pair{0.0f, kInf}, {-1.0f, 1.5f}, {-kInf, kInf}}) {
        std::vector<float> y(static_cast<size_t>(n)), z(static_cast<size_t>(n));
        k->clamp.run(a.data(), y.data(), n, lo, hi);
        k->add_clamp.run(a.data(), b.data(), z.data(), n, lo, hi);
        for (int64_t i = 0; i < n; ++i) {
          const float c = a[i] < lo ? lo : a[i] > hi ? hi : a[i];
          const float s0 = a[i] + b[i], s = s0 < lo ? lo : s0 > hi ? hi : s0;
          ASSERT_TRUE(std::memcmp(&y[i], &c, 4) == 0 || (std::isnan(y[i]) && std::isnan(c)))
              << k->isa << " clamp n=" << n << " i=" << i << " [" << lo << "," << hi << "]: " << y[i] << " vs " << c;
          ASSERT_TRUE(std::memcmp(&z[i], &s, 4) == 0 || (std::isnan(z[i]) && std::isnan(s)))
              << k->isa << " add_clamp n=" << n << " i=" << i << ": " << z[i] << " vs " << s;
        }
      }
    }
  }
}

TEST(Fp32FastKernels, PhasePlanesAreTheSameBitsAsThePortableBuilder) {
  std::mt19937 rng(13);
  // Widths around the 8/16-float vector widths (odd ones end a stride-2 row mid-vector), strides 1–3,
  // pads that add rows and columns on either side.
  struct PlaneCase {
    int64_t c, h, w, k, s, pt, pl, pb, pr;
  };
  std::vector<PlaneCase> cases = {{16, 32, 32, 3, 2, 0, 0, 1, 1}, {16, 32, 32, 1, 2, 0, 0, 0, 0},
                                  {32, 16, 16, 3, 2, 1, 1, 1, 1}, {3, 7, 7, 3, 2, 1, 1, 1, 1},
                                  {2, 5, 33, 3, 2, 0, 2, 1, 0},   {1, 9, 31, 1, 2, 0, 0, 0, 0},
                                  {2, 6, 17, 3, 2, 1, 1, 0, 1},   {2, 12, 12, 5, 3, 2, 1, 2, 3},
                                  {1, 3, 64, 3, 2, 1, 1, 1, 1},   {2, 4, 2, 3, 2, 1, 1, 1, 1}};
  for (const fp32::KernelTable* k : fp32::available_kernels()) {
    if (k->conv.mr == 0) continue;
    for (const PlaneCase& pc : cases) {
      std::ostringstream name;
      name << k->isa << " C" << pc.c << " " << pc.h << "x" << pc.w << " k" << pc.k << " s" << pc.s << " pads "
           << pc.pt << "," << pc.pl << "," << pc.pb << "," << pc.pr;
      SCOPED_TRACE(name.str());
      ref::Window2d win;
      win.kernel_h = win.kernel_w = pc.k, win.stride_h = win.stride_w = pc.s;
      win.pad_top = pc.pt, win.pad_left = pc.pl, win.pad_bottom = pc.pb, win.pad_right = pc.pr;
      const auto p = ref::make_conv2d_params({1, pc.c, pc.h, pc.w}, {4, pc.c, pc.k, pc.k}, win, 1);
      std::vector<float> w(size_t(4 * pc.c * pc.k * pc.k), 0.5f);
      const auto plan = fp32::make_conv_plan(p, w.data(), nullptr, -kInf, kInf, k->conv);
      ASSERT_TRUE(plan.implicit && !plan.direct);
      const auto x = random_floats(rng, pc.c * pc.h * pc.w);
      const int64_t n = fp32::conv_planes_floats(plan);
      std::vector<float> want(size_t(n), -7.0f), got(size_t(n), -9.0f);
      fp32::build_phase_planes(plan, x.data(), want.data(), 0, pc.c);
      plan.build_planes(plan, x.data(), got.data(), 0, 1);  // channel ranges compose
      plan.build_planes(plan, x.data(), got.data(), 1, pc.c);
      ASSERT_EQ(0, std::memcmp(got.data(), want.data(), size_t(n) * sizeof(float)));
    }
  }
}

TEST(Fp32FastKernels, ShortcutConvReadsTheStridedConvsPhasePlanes) {
  std::mt19937 rng(19);
  struct PairCase {
    int64_t c, hw, host_pad_begin, host_pad_end, guest_k, guest_pad_begin, guest_pad_end;
    bool fits;
  };
  // ResNet8's (Keras "same", stride 2: pads 0/1 and 1×1 pad 0), symmetric pads (the 1×1 reads phase (1,1)
  // of a pad-1 3×3: present), and a guest whose taps need rows the host's planes lack.
  const PairCase cases[] = {{16, 32, 0, 1, 1, 0, 0, true}, {8, 15, 1, 1, 1, 0, 0, true}, {4, 16, 0, 1, 3, 2, 0, false}};
  for (const fp32::KernelTable* k : fp32::available_kernels()) {
    if (k->conv.mr == 0) continue;
    for (const PairCase& pc : cases) {
      SCOPED_TRACE(std::string(k->isa) + " C" + std::to_string(pc.c) + " " + std::to_string(pc.hw) + " guest k" +
                   std::to_string(pc.guest_k));
      ref::Window2d hw, gw;
      hw.kernel_h = hw.kernel_w = 3, hw.stride_h = hw.stride_w = 2;
      hw.pad_top = hw.pad_left = pc.host_pad_begin, hw.pad_bottom = hw.pad_right = pc.host_pad_end;
      gw.kernel_h = gw.kernel_w = pc.guest_k, gw.stride_h = gw.stride_w = 2;
      gw.pad_top = gw.pad_left = pc.guest_pad_begin, gw.pad_bottom = gw.pad_right = pc.guest_pad_end;
      const auto hp = ref::make_conv2d_params({2, pc.c, pc.hw, pc.hw}, {24, pc.c, 3, 3}, hw, 1);
      const auto gp = ref::make_conv2d_params({2, pc.c, pc.hw, pc.hw}, {12, pc.c, pc.guest_k, pc.guest_k}, gw, 1);
      ASSERT_EQ(hp.out_h, gp.out_h);
      const auto x = random_floats(rng, 2 * pc.c * pc.hw * pc.hw);
      const auto wh = random_floats(rng, 24 * pc.c * 9), wg = random_floats(rng, 12 * pc.c * pc.guest_k * pc.guest_k);
      const auto bg = random_floats(rng, 12);
      const auto host = fp32::make_conv_plan(hp, wh.data(), nullptr, -kInf, kInf, k->conv);
      auto guest = fp32::make_conv_plan(gp, wg.data(), bg.data(), 0, kInf, k->conv);
      ASSERT_EQ(fp32::adopt_phase_layout(guest, host), pc.fits);
      if (!pc.fits) continue;
      std::vector<float> planes(size_t(2 * fp32::conv_planes_floats(host)));
      for (int64_t n = 0; n < 2; ++n)
        host.build_planes(host, x.data() + n * host.image_in(), planes.data() + n * fp32::conv_planes_floats(host), 0,
                          pc.c);
      const auto want = reference_conv(gp, x, wg, bg, nullptr, 0, kInf);
      std::vector<float> got(want.size(), -7.0f), alone(want.size(), -7.0f);
      std::vector<float> scratch(size_t(fp32::conv_scratch_floats(guest)));
      k->conv.run(guest, x.data(), nullptr, got.data(), 2, 0, fp32::conv_items(guest, 2), planes.data(), nullptr);
      k->conv.run(guest, x.data(), nullptr, alone.data(), 2, 0, fp32::conv_items(guest, 2), nullptr, scratch.data());
      const int64_t bad = first_mismatch(got.data(), want.data(), int64_t(want.size()));
      EXPECT_EQ(bad, -1) << "output " << bad << ": got " << got[bad] << ", want " << want[bad];
      EXPECT_EQ(0, std::memcmp(alone.data(), got.data(), want.size() * sizeof(float)))
          << "the adopted plan run alone (its own planes) differs";
    }
  }
}

TEST(Fp32FastKernels, ConvWritingTheNextConvsPhasePlanesMatchesBuildingThem) {
  std::mt19937 rng(23);
  struct WriteCase {
    int64_t c, m, h, w;        // producer: 3×3 stride 1 pad 1, C → M channels, H×W (W multiple of 16)
    int64_t rk, rpb, rpe;      // reader: rk×rk stride 2, pads begin/end
  };
  const WriteCase cases[] = {{16, 16, 32, 32, 3, 0, 1}, {32, 32, 16, 16, 3, 1, 1}, {5, 20, 6, 16, 1, 0, 0},
                             {3, 9, 7, 32, 3, 1, 0},    {4, 12, 5, 48, 3, 2, 2}};
  for (const fp32::KernelTable* k : fp32::available_kernels()) {
    if (!k->conv.writes_phase_planes) continue;
    for (const WriteCase& wc : cases) {
      SCOPED_TRACE(std::string(k->isa) + " producer C" + std::to_string(wc.c) + " M" + std::to_string(wc.m) + " " +
                   std::to_string(wc.h) + "x" + std::to_string(wc.w) + ", reader k" + std::to_string(wc.rk) +
                   " pads " + std::to_string(wc.rpb) + "/" + std::to_string(wc.rpe));
      ref::Window2d pw, rw;
      pw.kernel_h = pw.kernel_w = 3, pw.pad_top = pw.pad_left = pw.pad_bottom = pw.pad_right = 1;
      rw.kernel_h = rw.kernel_w = wc.rk, rw.stride_h = rw.stride_w = 2;
      rw.pad_top = rw.pad_left = wc.rpb, rw.pad_bottom = rw.pad_right = wc.rpe;
      const int64_t n = 2;
      const auto pp = ref::make_conv2d_params({n, wc.c, wc.h, wc.w}, {wc.m, wc.c, 3, 3}, pw, 1);
      const auto rp = ref::make_conv2d_params({n, wc.m, wc.h, wc.w}, {8, wc.m, wc.rk, wc.rk}, rw, 1);
      const auto x = random_floats(rng, n * wc.c * wc.h * wc.w), w = random_floats(rng, wc.m * wc.c * 9);
      const auto b = random_floats(rng, wc.m), rwts = random_floats(rng, 8 * wc.m * wc.rk * wc.rk);
      const auto producer = fp32::make_conv_plan(pp, w.data(), b.data(), 0, kInf, k->conv);
      const auto reader = fp32::make_conv_plan(rp, rwts.data(), nullptr, -kInf, kInf, k->conv);
      ASSERT_TRUE(fp32::can_write_phase_planes(producer, reader));
      // Wanted: the producer's dense output, then the reader's planes built from it.
      const int64_t per = fp32::conv_planes_floats(reader), items = fp32::conv_items(producer, n);
      std::vector<float> dense(size_t(n * producer.image_out())), want(size_t(n * per), -7.0f);
      std::vector<float> scratch(size_t(fp32::conv_scratch_floats(producer)) + 1);
      k->conv.run(producer, x.data(), nullptr, dense.data(), n, 0, items, nullptr, scratch.data());
      for (int64_t i = 0; i < n; ++i)
        fp32::build_phase_planes(reader, dense.data() + i * producer.image_out(), want.data() + i * per, 0, wc.m);
      // Got: the padding zeroed, then the producer writing the planes (items split in two calls).
      fp32::ConvPlan writer = producer;
      fp32::write_phase_planes_of(writer, reader);
      std::vector<float> got(size_t(n * per), -9.0f);
      fp32::zero_spans(fp32::plane_padding(reader), per, got.data(), n);
      k->conv.run(writer, x.data(), nullptr, got.data(), n, 0, items / 3, nullptr, scratch.data());
      k->conv.run(writer, x.data(), nullptr, got.data(), n, items / 3, items, nullptr, scratch.data());
      ASSERT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)))
          << "planes differ at " << (std::mismatch(got.begin(), got.end(), want.begin()).first - got.begin());
    }
  }
}

TEST(Fp32FastKernels, ConvWritingPaddedRowsAndReadingThemAsResidualMatchesDense) {
  std::mt19937 rng(29);
  // 16 channels of 32×32 (a 4 KB channel stride): the reader copies them into padded rows, so a producer
  // can write that layout; a second Conv reads the same buffer as its fused residual.
  for (const fp32::KernelTable* k : fp32::available_kernels()) {
    if (k->conv.mr == 0) continue;
    SCOPED_TRACE(k->isa);
    ref::Window2d win;
    win.kernel_h = win.kernel_w = 3, win.pad_top = win.pad_left = win.pad_bottom = win.pad_right = 1;
    const int64_t n = 2;
    const auto pp = ref::make_conv2d_params({n, 16, 32, 32}, {16, 16, 3, 3}, win, 1);
    const auto x = random_floats(rng, n * 16 * 1024), w = random_floats(rng, 16 * 16 * 9);
    const auto b = random_floats(rng, 16), w2 = random_floats(rng, 16 * 16 * 9);
    const auto producer = fp32::make_conv_plan(pp, w.data(), b.data(), 0, kInf, k->conv);
    const auto reader = fp32::make_conv_plan(pp, w2.data(), nullptr, -kInf, kInf, k->conv);
    ASSERT_TRUE(fp32::reads_padded_rows(reader));
    const int64_t per = fp32::conv_planes_floats(reader), items = fp32::conv_items(producer, n);
    std::vector<float> scratch(size_t(fp32::conv_scratch_floats(producer)) + 1);
    std::vector<float> dense(size_t(n * producer.image_out())), want(size_t(n * per), -7.0f);
    k->conv.run(producer, x.data(), nullptr, dense.data(), n, 0, items, nullptr, scratch.data());
    for (int64_t i = 0; i < n; ++i)
      fp32::build_phase_planes(reader, dense.data() + i * producer.image_out(), want.data() + i * per, 0, 16);
    fp32::ConvPlan writer = producer;
    writer.out = fp32::planes_layout(reader);
    std::vector<float> got(size_t(n * per), -9.0f);
    fp32::zero_spans(fp32::plane_padding(reader), per, got.data(), n);
    k->conv.run(writer, x.data(), nullptr, got.data(), n, 0, items, nullptr, scratch.data());
    ASSERT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)));
    // The reader with its planes given, and a Conv adding them as residual, equal the dense runs.
    std::vector<float> y_dense(dense.size()), y_planes(dense.size(), -5.0f);
    const int64_t ritems = fp32::conv_items(reader, n);
    k->conv.run(reader, dense.data(), dense.data(), y_dense.data(), n, 0, ritems, nullptr, scratch.data());
    fp32::ConvPlan residual_reader = reader;
    residual_reader.res = fp32::planes_layout(reader);
    k->conv.run(residual_reader, nullptr, got.data(), y_planes.data(), n, 0, ritems, got.data(), scratch.data());
    ASSERT_EQ(0, std::memcmp(y_planes.data(), y_dense.data(), y_dense.size() * sizeof(float)));
  }
}

TEST(Fp32FastKernels, PlaneMeanAndTransposeMatchReference) {
  std::mt19937 rng(17);
  for (const fp32::KernelTable* k : fp32::available_kernels()) {
    for (int64_t size : {1, 7, 16, 17, 64, 100, 1024}) {
      const int64_t planes = 5;
      const auto x = random_floats(rng, planes * size, -4, 4);
      const auto p = ref::make_global_averagepool_params({1, planes, size, 1});
      std::vector<float> want(static_cast<size_t>(planes)), got(static_cast<size_t>(planes), -7.0f);
      ref::global_averagepool(p, x.data(), want.data());
      k->plane_mean.run(x.data(), got.data(), size, 0, 2);
      k->plane_mean.run(x.data(), got.data(), size, 2, planes);
      const int64_t bad = first_mismatch(got.data(), want.data(), planes);
      EXPECT_EQ(bad, -1) << k->isa << " plane size " << size << ": plane " << bad << " got " << got[bad] << ", want "
                         << want[bad];
    }
    for (auto [n, h, w, c] : {std::tuple{1, 32, 32, 3}, {2, 5, 7, 17}, {1, 1, 1, 1}, {3, 16, 1, 33}}) {
      for (const std::vector<int64_t>& perm : {std::vector<int64_t>{0, 3, 1, 2}, {0, 2, 3, 1}}) {
        const Shape xs = {n, h, w, c};
        const auto tp = ref::make_transpose_params(xs, perm);
        const auto x = random_floats(rng, num_elements(xs));
        std::vector<float> want(x.size()), got(x.size(), -7.0f);
        ref::transpose(tp, x.data(), want.data());
        // perm (0, 3, 1, 2): rows = h·w, cols = c; (0, 2, 3, 1): rows = h, cols = w·c.
        const int64_t rows = perm[1] == 3 ? h * w : h, cols = perm[1] == 3 ? c : w * c;
        for (int64_t i = 0; i < n; ++i)
          k->transpose2d.run(x.data() + i * rows * cols, got.data() + i * rows * cols, rows, cols);
        EXPECT_EQ(0, std::memcmp(got.data(), want.data(), x.size() * sizeof(float)))
            << k->isa << " transpose " << shape_str(xs) << " perm " << perm[1] << perm[2] << perm[3];
      }
    }
  }
}

// ---- Engine -------------------------------------------------------------------------------------------------

// Every value of g computed node by node with the reference kernels (the engine's semantics by definition).
std::map<std::string, Tensor> reference_values(const Graph& g, const Tensor& input) {
  const auto shapes = infer_shapes(g, input.shape);
  std::map<std::string, Tensor> values;
  values[graph_image_input(g).name] = input;
  for (const Node& node : g.nodes) {
    std::vector<const Tensor*> in;
    for (const auto& name : node.inputs)
      in.push_back(name.empty() ? nullptr : g.is_initializer(name) ? g.initializer(name) : &values.at(name));
    values[node.outputs[0]] = fp32_engine::run_step(node, fp32_engine::make_step(node, shapes, g),
                                                    shapes.at(node.outputs[0]), in);
  }
  return values;
}

const Graph& resnet8() {
  static const Graph g = import_keras_h5(testing::resnet8_h5());
  return g;
}

Tensor random_images(std::mt19937& rng, int64_t n) {
  return Tensor::from_floats({n, 32, 32, 3}, random_floats(rng, n * 3072, 0.0f, 255.0f));
}

TEST(Fp32FastEngine, ResultsDoNotDependOnThreadsOrBatching) {
  std::mt19937 rng(3);
  const Tensor x = random_images(rng, 7);
  Fp32Engine one(resnet8());
  const std::vector<float> want = one.run(x).at(0).f;
  for (int threads : {1, 2, 3}) {
    Fp32EngineOptions opts;
    opts.threads = threads;
    Fp32Engine e(resnet8(), opts);
    EXPECT_EQ(want, e.run(x).at(0).f) << "threads " << threads << ", batch 7";
    for (int64_t i : {0, 6}) {  // batch 1: steps split over threads instead of images
      const Tensor xi = Tensor::from_floats({1, 32, 32, 3}, {x.f.begin() + i * 3072, x.f.begin() + (i + 1) * 3072});
      const std::vector<float> got = e.run(xi).at(0).f;
      EXPECT_EQ(std::vector<float>(want.begin() + i * 10, want.begin() + (i + 1) * 10), got)
          << "threads " << threads << ", image " << i << " alone";
    }
    if (threads == 3) {  // batch 2 < threads: layer by layer over two images (per-image plane layouts)
      const Tensor x2 = Tensor::from_floats({2, 32, 32, 3}, {x.f.begin(), x.f.begin() + 2 * 3072});
      EXPECT_EQ(std::vector<float>(want.begin(), want.begin() + 20), e.run(x2).at(0).f) << "threads 3, batch 2";
    }
  }
}

TEST(Fp32FastEngine, EveryKernelTableRunsResnet8LikeTheReference) {
  // Each table's plan (which producers write their readers' planes depends on the kernel), layer by layer
  // (batch 1 on 2 threads) and depth-first (batch 3).
  std::mt19937 rng(31);
  const Tensor x = random_images(rng, 3);
  const auto values = reference_values(resnet8(), x);
  const Tensor& want = values.at(resnet8().outputs[0].name);
  for (const fp32::KernelTable* k : fp32::available_kernels()) {
    Fp32EngineOptions opts;
    opts.threads = 2;
    opts.kernels = k;
    Fp32Engine engine(resnet8(), opts);
    const Tensor all = engine.run(x).at(0);
    const Tensor first = engine.run(Tensor::from_floats({1, 32, 32, 3}, {x.f.begin(), x.f.begin() + 3072})).at(0);
    EXPECT_EQ(first.f, std::vector<float>(all.f.begin(), all.f.begin() + 10)) << k->isa << ": batch 1 vs 3";
    const int64_t bad = first_mismatch(all.f.data(), want.f.data(), int64_t(want.f.size()));
    EXPECT_EQ(bad, -1) << k->isa << ": output " << bad << " got " << all.f[bad] << ", want " << want.f[bad];
  }
}

TEST(Fp32FastEngine, TapSeesEveryValueAndMatchesReference) {
  std::mt19937 rng(4);
  const Tensor x = random_images(rng, 3);
  const auto want = reference_values(resnet8(), x);
  Fp32EngineOptions opts;
  opts.threads = 2;
  Fp32Engine engine(resnet8(), opts);
  std::map<std::string, Tensor> seen;
  engine.run(x, [&](const std::string& name, const Tensor& t) { seen[name] = t; });
  ASSERT_EQ(seen.size(), resnet8().nodes.size() + 1);
  for (const auto& [name, t] : want) {
    if (resnet8().is_initializer(name)) continue;
    ASSERT_TRUE(seen.count(name)) << "tap never saw '" << name << "'";
    ASSERT_EQ(seen[name].shape, t.shape) << name;
    const int64_t bad = first_mismatch(seen[name].f.data(), t.f.data(), int64_t(t.f.size()));
    EXPECT_EQ(bad, -1) << "value '" << name << "' element " << bad;
  }
}

TEST(Fp32FastEngine, Resnet8OnCifarTestMatchesReference) {
  const Dataset d = load_cifar10(testing::cifar_dir(), Split::kTest, 1000);
  ASSERT_EQ(d.count, 1000);
  const Tensor x = image_batch(d, 0, d.count, Layout::kNHWC, Preprocess{});
  Fp32EngineOptions opts;
  opts.threads = 2;
  Fp32Engine engine(resnet8(), opts);
  const Tensor got = engine.run(x).at(0);
  ASSERT_EQ(got.shape, (Shape{1000, 10}));
  int correct = 0;
  for (int64_t first = 0; first < d.count; first += 250) {  // reference in slices (bounded memory)
    const Tensor slice = Tensor::from_floats({250, 32, 32, 3}, {x.f.begin() + first * 3072,
                                                                x.f.begin() + (first + 250) * 3072});
    const auto values = reference_values(resnet8(), slice);
    const Tensor& want = values.at(resnet8().outputs[0].name);
    for (int64_t i = 0; i < 250; ++i) {
      const float* g = got.f.data() + (first + i) * 10;
      const float* w = want.f.data() + i * 10;
      const int64_t top_g = std::max_element(g, g + 10) - g, top_w = std::max_element(w, w + 10) - w;
      ASSERT_EQ(top_g, top_w) << "image " << first + i;
      for (int j = 0; j < 10; ++j) ASSERT_NEAR(g[j], w[j], 1e-5) << "image " << first + i << " class " << j;
      correct += top_g == d.labels[first + i];
    }
  }
  EXPECT_GT(correct, 800);  // ResNet8 reaches ~87% on CIFAR-10
}

TEST(Fp32FastEngine, RejectsNegativeThreads) {
  Fp32EngineOptions opts;
  opts.threads = -1;
  EXPECT_THROW(Fp32Engine(resnet8(), opts), Error);
}

}  // namespace
}  // namespace tinyptq
