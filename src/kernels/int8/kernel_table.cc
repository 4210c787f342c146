#include "kernels/int8/kernel_table.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/cpu_features.h"
#include "core/error.h"
#include "kernels/fp32/reference/pool2d_params.h"
#include "kernels/int8/avx2/conv2d_avx2.h"
#include "kernels/int8/avx2/depthwise_avx2.h"
#include "kernels/int8/avx2/ops_avx2.h"
#include "kernels/int8/avx512/conv2d_vnni.h"
#include "kernels/int8/avx512/depthwise_avx512.h"
#include "kernels/int8/avx512/ops_avx512.h"
#include "kernels/int8/avxvnni/conv2d_avxvnni.h"
#include "kernels/int8/gemm_as_conv.h"
#include "kernels/int8/reference/add.h"
#include "kernels/int8/reference/avgpool.h"
#include "kernels/int8/reference/conv2d.h"
#include "kernels/int8/reference/dequantize.h"
#include "kernels/int8/reference/gemm.h"
#include "kernels/int8/reference/global_avgpool.h"
#include "kernels/int8/reference/maxpool.h"
#include "kernels/int8/reference/quantize.h"
#include "kernels/int8/reference/requantize.h"

namespace tinyptq::int8 {

namespace {

void check_window(const Window2d& w) {
  check(w.kernel_h > 0 && w.kernel_w > 0 && w.stride_h > 0 && w.stride_w > 0 && w.dilation_h > 0 &&
            w.dilation_w > 0,
        "kernel, strides and dilations must be positive");
  check(w.pad_top >= 0 && w.pad_left >= 0 && w.pad_bottom >= 0 && w.pad_right >= 0,
        "pads must be non-negative");
}

}  // namespace

ConvShape make_conv_shape(int64_t in_h, int64_t in_w, int64_t in_c, int64_t out_c, int64_t groups,
                          const Window2d& window) {
  check(in_h > 0 && in_w > 0 && in_c > 0 && out_c > 0, "conv sizes must be positive");
  check(groups > 0 && in_c % groups == 0 && out_c % groups == 0,
        "group " + std::to_string(groups) + " does not divide the channels (" + std::to_string(in_c) +
            " in, " + std::to_string(out_c) + " out)");
  check_window(window);
  ConvShape s;
  s.in_h = in_h, s.in_w = in_w, s.in_c = in_c, s.out_c = out_c, s.groups = groups;
  s.window = window;
  s.window.ceil_mode = false;
  s.out_h = fp32_ref::window_output_size(in_h, window.kernel_h, window.stride_h, window.dilation_h,
                                         window.pad_top, window.pad_bottom, false);
  s.out_w = fp32_ref::window_output_size(in_w, window.kernel_w, window.stride_w, window.dilation_w,
                                         window.pad_left, window.pad_right, false);
  return s;
}

PoolShape make_pool_shape(int64_t in_h, int64_t in_w, int64_t channels, const Window2d& window) {
  check(in_h > 0 && in_w > 0 && channels > 0, "pool sizes must be positive");
  check_window(window);
  const fp32_ref::Pool2dParams fp = fp32_ref::make_pool2d_params({1, channels, in_h, in_w}, window);
  PoolShape s;
  s.in_h = in_h, s.in_w = in_w, s.channels = channels, s.out_h = fp.out_h, s.out_w = fp.out_w;
  s.window = window;
  return s;
}

bool fits_int32_accumulator(int64_t taps, const int32_t* bias, int64_t channels) {
  constexpr int64_t kPerTap = int64_t(1) << 17, kLimit = int64_t(1) << 31;
  if (taps <= 0 || taps >= kLimit / kPerTap) return false;
  for (int64_t c = 0; bias && c < channels; ++c)
    if (std::abs(int64_t(bias[c])) + taps * kPerTap >= kLimit) return false;
  return true;
}

std::array<uint8_t, 256> make_requantize_table(float in_scale, int32_t in_zero_point, float out_scale,
                                               const OutputStage& out) {
  std::array<uint8_t, 256> table{};
  for (int32_t q = 0; q < 256; ++q) {
    const float real = float(q - in_zero_point) * in_scale;
    const float v = std::nearbyint(real / out_scale);
    int32_t r;
    if (std::isnan(v))
      r = out.zero_point;
    else if (v >= float(out.max - out.zero_point))
      r = out.max;
    else if (v <= float(out.min - out.zero_point))
      r = out.min;
    else
      r = int32_t(v) + out.zero_point;
    table[q] = uint8_t(r < out.min ? out.min : r > out.max ? out.max : r);
  }
  return table;
}

std::array<uint8_t, 256> make_requantize_table_fixed(float in_scale, int32_t in_zero_point, float out_scale,
                                                     const OutputStage& out) {
  const FixedPointMultiplier m = quantize_multiplier(double(in_scale) / double(out_scale));
  std::array<uint8_t, 256> table{};
  for (int32_t q = 0; q < 256; ++q)
    table[q] = uint8_t(requantize_fixed(q - in_zero_point, m, out.zero_point, out.min, out.max));
  return table;
}

void set_integer_add(AddParams& p, float a_scale, float b_scale, float out_scale) {
  const double twice_max = 2.0 * std::max(double(a_scale), double(b_scale));
  p.integer = true;
  p.a_fixed = quantize_multiplier(double(a_scale) / twice_max);
  p.b_fixed = quantize_multiplier(double(b_scale) / twice_max);
  p.out_fixed = quantize_multiplier(twice_max / (double(int64_t{1} << kAddLeftShift) * double(out_scale)));
}

std::array<uint8_t, 256> identity_table() {
  std::array<uint8_t, 256> table{};
  for (int q = 0; q < 256; ++q) table[q] = uint8_t(q);
  return table;
}

const KernelTable& reference_kernels() {
  static const KernelTable table = [] {
    KernelTable t;
    t.isa = "reference";
    t.conv = {"conv2d_nhwc_u8s8_ref", nullptr, ref::conv2d_pack, ref::conv2d_scratch_bytes, ref::conv2d, true};
    t.depthwise = t.conv;
    t.gemm = {"gemm_u8s8_ref", nullptr, ref::gemm_pack, ref::gemm_scratch_bytes, ref::gemm, true};
    t.add = {"add_u8_ref", ref::add, true};
    t.avgpool = {"avgpool_nhwc_u8_ref", ref::avgpool};
    t.global_avgpool = {"global_avgpool_nhwc_u8_ref", ref::global_avgpool};
    t.maxpool = {"maxpool_nhwc_u8_ref", ref::maxpool};
    t.quantize = {"quantize_f32_u8_ref", ref::quantize};
    t.dequantize = {"dequantize_u8_f32_ref", ref::dequantize};
    t.requantize = {"requantize_u8_table_ref", ref::requantize};
    return t;
  }();
  return table;
}

namespace {

// AVX-512 VNNI Conv2D and Gemm (groups = 1; other shapes fall back to the reference; float and integer
// requantization), depthwise Conv2D, AVX-512 elementwise and pooling kernels; maxpool and the
// requantization table stay scalar.
const KernelTable& avx512vnni_kernels() {
  static const KernelTable table = [] {
    KernelTable t = reference_kernels();
    t.isa = "avx512-vnni";
    t.conv = {"conv2d_nhwc_u8s8_avx512vnni", avx512vnni::conv2d_supports, avx512vnni::conv2d_pack,
              avx512vnni::conv2d_scratch_bytes, avx512vnni::conv2d, true};
    t.depthwise = {"depthwise_nhwc_u8s8_avx512", avx512vnni::depthwise_supports, avx512vnni::depthwise_pack,
                   avx512vnni::depthwise_scratch_bytes, avx512vnni::depthwise_conv2d};
    t.gemm = {"gemm_u8s8_avx512vnni", gemm_as_conv::supports, gemm_as_conv::pack<avx512vnni::conv2d_pack>,
              gemm_as_conv::scratch_bytes, gemm_as_conv::run<avx512vnni::conv2d>, true};
    t.add = {"add_u8_avx512", avx512::add, true};
    t.avgpool = {"avgpool_nhwc_u8_avx512", avx512::avgpool, true};
    t.global_avgpool = {"global_avgpool_nhwc_u8_avx512", avx512::global_avgpool, true};
    t.quantize = {"quantize_f32_u8_avx512", avx512::quantize};
    t.dequantize = {"dequantize_u8_f32_avx512", avx512::dequantize};
    return t;
  }();
  return table;
}

// The AVX2 Conv2D (vpmaddwd on int16 weight pairs; groups = 1; float and integer requantization), Gemm on
// it, AVX2 elementwise and pooling kernels.
const KernelTable& avx2_kernels() {
  static const KernelTable table = [] {
    KernelTable t = reference_kernels();
    t.isa = "avx2";
    t.conv = {"conv2d_nhwc_u8s8_avx2", avx512vnni::conv2d_supports, avx2::conv2d_pack,
              avx512vnni::conv2d_scratch_bytes, avx2::conv2d, true};
    t.depthwise = {"depthwise_nhwc_u8s8_avx2", avx2::depthwise_supports, avx2::depthwise_pack,
                   avx2::depthwise_scratch_bytes, avx2::depthwise_conv2d};
    t.gemm = {"gemm_u8s8_avx2", gemm_as_conv::supports, gemm_as_conv::pack<avx2::conv2d_pack>,
              gemm_as_conv::scratch_bytes, gemm_as_conv::run<avx2::conv2d>, true};
    t.add = {"add_u8_avx2", avx2::add, true};
    t.avgpool = {"avgpool_nhwc_u8_avx2", avx2::avgpool, true};
    t.global_avgpool = {"global_avgpool_nhwc_u8_avx2", avx2::global_avgpool, true};
    t.quantize = {"quantize_f32_u8_avx2", avx2::quantize};
    t.dequantize = {"dequantize_u8_f32_avx2", avx2::dequantize};
    return t;
  }();
  return table;
}

// The AVX-VNNI (ymm vpdpbusd) Conv2D and Gemm on the VNNI weight layout; AVX2 elementwise and pooling
// kernels (the same functions as the avx2 table).
const KernelTable& avxvnni_kernels() {
  static const KernelTable table = [] {
    KernelTable t = avx2_kernels();
    t.isa = "avx-vnni";
    t.conv = {"conv2d_nhwc_u8s8_avxvnni", avx512vnni::conv2d_supports, avx512vnni::conv2d_pack,
              avx512vnni::conv2d_scratch_bytes, avxvnni::conv2d, true};
    t.gemm = {"gemm_u8s8_avxvnni", gemm_as_conv::supports, gemm_as_conv::pack<avx512vnni::conv2d_pack>,
              gemm_as_conv::scratch_bytes, gemm_as_conv::run<avxvnni::conv2d>, true};
    return t;
  }();
  return table;
}

bool has_avx2() { return cpu_runs_avx2_files(); }
bool has_avxvnni() { return cpu_runs_avxvnni_files(); }
bool has_avx512vnni() { return cpu_runs_avx512_files(); }

}  // namespace

const KernelTable& best_kernels() {
  if (has_avx512vnni()) return avx512vnni_kernels();
  if (has_avxvnni()) return avxvnni_kernels();
  return has_avx2() ? avx2_kernels() : reference_kernels();
}

std::vector<const KernelTable*> available_kernels() {
  std::vector<const KernelTable*> tables = {&reference_kernels()};
  if (has_avx2()) tables.push_back(&avx2_kernels());
  if (has_avxvnni()) tables.push_back(&avxvnni_kernels());
  if (has_avx512vnni()) tables.push_back(&avx512vnni_kernels());
  return tables;
}

const KernelTable& kernels_by_name(const std::string& isa) {
  if (isa == "best") return best_kernels();
  for (const KernelTable* t : available_kernels())
    if (isa == t->isa) return *t;
  std::string names;
  bool known = false;
  for (const char* name : kKernelTableNames) {
    names += std::string(name) + ", ";
    known = known || isa == name;
  }
  check(known, "unknown integer kernel table '" + isa + "' (" + names + "or best)");
  throw Error("integer kernel table '" + isa + "' needs CPU features this machine lacks");
}

}  // namespace tinyptq::int8
