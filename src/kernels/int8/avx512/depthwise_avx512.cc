#include "kernels/int8/avx512/depthwise_avx512.h"

#include <immintrin.h>

#include <algorithm>

#include "kernels/int8/reference/conv2d.h"

// GCC 12 flags the `__Y = __Y` of _mm512_undefined_* inside the unmasked intrinsics once inlined here.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace tinyptq::int8::avx512vnni {

namespace {

constexpr int64_t kLanes = 64;  // byte lanes per zmm

bool is_flat(int64_t c) { return kLanes % c == 0; }
int64_t blocks(int64_t c) { return is_flat(c) ? 1 : (c + kLanes - 1) / kLanes; }
// Channel of byte lane l in block b (≥ c: a padding lane, weight 0).
int64_t lane_channel(int64_t c, int64_t b, int64_t l) { return is_flat(c) ? l % c : b * kLanes + l; }
// The low n bits set, n ≤ 64.
__mmask64 bits(int64_t n) { return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1; }

// Per-channel values in accumulator order: [block][k][i] = v[ch(4i + k)], 0 on padding lanes.
template <typename T>
std::vector<T> to_acc_order(const std::vector<T>& v, int64_t c) {
  std::vector<T> out(size_t(blocks(c) * kLanes), T(0));
  for (int64_t b = 0; b < blocks(c); ++b)
    for (int64_t k = 0; k < 4; ++k)
      for (int64_t i = 0; i < 16; ++i) {
        const int64_t ch = lane_channel(c, b, 4 * i + k);
        if (ch < c) out[size_t(b * kLanes + k * 16 + i)] = v[size_t(ch)];
      }
  return out;
}

struct Consts {
  __m512i mask[4];  // byte k of every dword
  __m512i ones = _mm512_set1_epi8(1);
  __m512i zx, zy;
  __m512 lo, hi;
};

// Per-block weights and accumulator-order constants.
struct BlockData {
  const int8_t* w;  // [taps][64]
  const int32_t* bias;
  const float* mult;
  const int32_t* zw;  // null unless kZw
};

// 64 output lanes: x̃ of tap t = load(t) (64 bytes in lane order), its weights weight(t).
template <bool kZw, class Load, class Weight>
__attribute__((always_inline)) inline __m512i block(const Load& load, const Weight& weight, int64_t taps,
                                                    const BlockData& d, const Consts& k) {
  // Two accumulator sets (even and odd taps) halve the dpbusd dependency chains.
  __m512i acc[4], acc2[4], sum[4];
  for (int j = 0; j < 4; ++j) {
    acc[j] = _mm512_loadu_si512(d.bias + 16 * j);
    acc2[j] = sum[j] = _mm512_setzero_si512();
  }
  auto tap = [&](int64_t t, __m512i* a) {
    const __m512i x = load(t), w = weight(t);
    for (int j = 0; j < 4; ++j) {
      const __m512i xj = _mm512_and_si512(x, k.mask[j]);  // x[4i + j] alone in dword i: xj·w exact
      a[j] = _mm512_dpbusd_epi32(a[j], xj, w);
      if (kZw) sum[j] = _mm512_dpbusd_epi32(sum[j], xj, k.ones);
    }
  };
  int64_t t = 0;
  for (; t + 1 < taps; t += 2) {
    tap(t, acc);
    tap(t + 1, acc2);
  }
  if (t < taps) tap(t, acc);
  for (int j = 0; j < 4; ++j) acc[j] = _mm512_add_epi32(acc[j], acc2[j]);
  __m512i q[4];
  for (int j = 0; j < 4; ++j) {
    if (kZw) acc[j] = _mm512_sub_epi32(acc[j], _mm512_mullo_epi32(_mm512_loadu_si512(d.zw + 16 * j), sum[j]));
    const __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[j]), _mm512_loadu_ps(d.mult + 16 * j));
    // max(v, lo) returns lo for a NaN v, as requantize_float's v >= lo ? v : lo.
    const __m512 f = _mm512_min_ps(_mm512_max_ps(v, k.lo), k.hi);
    q[j] = _mm512_add_epi32(_mm512_cvt_roundps_epi32(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), k.zy);
  }
  // q ∈ [0, 255]: byte j of dword i is lane 4i + j.
  return _mm512_or_si512(_mm512_or_si512(q[0], _mm512_slli_epi32(q[1], 8)),
                         _mm512_or_si512(_mm512_slli_epi32(q[2], 16), _mm512_slli_epi32(q[3], 24)));
}

// One output row's columns [xa, xb) of a flat layout at stride 1 or 2, 64/C pixels per vector: every tap
// of those pixels is inside the row (tap_row[t] null: the tap's input row is padding, x̃ = zx).
struct RowArgs {
  uint8_t* out;                  // the output row
  const uint8_t* const* tap_row;  // [taps]: input row of tap t + its column offset, or null
  int64_t xa, xb, per_vec, c, taps, stride, pad_left;
  __m512i pick;  // stride 2: permutex2var indices of the even pixels
  BlockData d;
};

// kTaps: the tap count when fixed at compile time (its weights then stay in registers), else 0.
template <bool kZw, int kTaps>
void chunks(const RowArgs& a, const Consts& k) {
  const int64_t taps = kTaps ? kTaps : a.taps, c = a.c;
  __m512i wregs[kTaps ? kTaps : 1];
  for (int t = 0; t < kTaps; ++t) wregs[t] = _mm512_loadu_si512(a.d.w + kLanes * t);
  auto weight = [&](int64_t t) { return kTaps ? wregs[t] : _mm512_loadu_si512(a.d.w + kLanes * t); };
  for (int64_t ox = a.xa; ox < a.xb; ox += a.per_vec) {
    const int64_t np = std::min(a.per_vec, a.xb - ox);  // pixels of this vector
    const int64_t at = (ox * a.stride - a.pad_left) * c;
    __m512i v;
    if (a.stride == 1) {
      const __mmask64 m = bits(np * c);
      auto load = [&](int64_t t) {
        const uint8_t* r = a.tap_row[t];
        return r ? _mm512_maskz_loadu_epi8(m, r + at) : k.zx;
      };
      v = block<kZw>(load, weight, taps, a.d, k);
    } else {  // bytes [0, (2·np − 1)·C) of 128: never the odd pixel past the last one
      const int64_t used = (2 * np - 1) * c;
      const __mmask64 ma = bits(used), mb = used > kLanes ? bits(used - kLanes) : 0;
      auto load = [&](int64_t t) {
        const uint8_t* r = a.tap_row[t];
        if (!r) return k.zx;
        const __m512i lo = _mm512_maskz_loadu_epi8(ma, r + at), hi = _mm512_maskz_loadu_epi8(mb, r + at + kLanes);
        return c == 2 ? _mm512_permutex2var_epi16(lo, a.pick, hi) : _mm512_permutex2var_epi32(lo, a.pick, hi);
      };
      v = block<kZw>(load, weight, taps, a.d, k);
    }
    if (np == a.per_vec)
      _mm512_storeu_si512(a.out + ox * c, v);
    else
      _mm512_mask_storeu_epi8(a.out + ox * c, bits(np * c), v);
  }
}

template <bool kZw>
void run(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows) {
  const ConvShape& s = p.shape;
  const Window2d& win = s.window;
  const PackedWeights& pw = *p.weights;
  const int64_t c = s.out_c, nb = blocks(c), taps = win.kernel_h * win.kernel_w;
  const int64_t in_row = s.in_w * c, out_row = s.out_w * c;
  Consts k;
  for (int j = 0; j < 4; ++j) k.mask[j] = _mm512_set1_epi32(int32_t(0xFFu << (8 * j)));
  k.zx = _mm512_set1_epi8(char(p.input_zero_point));
  k.zy = _mm512_set1_epi32(p.output.zero_point);
  k.lo = _mm512_set1_ps(float(int64_t{p.output.min} - p.output.zero_point));
  k.hi = _mm512_set1_ps(float(int64_t{p.output.max} - p.output.zero_point));
  auto data = [&](int64_t b) {
    return BlockData{pw.data.data() + b * taps * kLanes, pw.bias.data() + b * kLanes,
                     pw.multipliers.data() + b * kLanes, kZw ? pw.zero_points.data() + b * kLanes : nullptr};
  };

  // Flat layouts with stride 1 or 2 take 64/C output pixels per vector where the window is inside the
  // row: columns [xa, xb). Elsewhere, one pixel per vector (per block).
  const int64_t per_vec = is_flat(c) ? kLanes / c : 1;
  const bool chunked = per_vec > 1 && (win.stride_w == 1 || win.stride_w == 2);
  const int64_t span_w = (win.kernel_w - 1) * win.dilation_w;
  const int64_t xa = std::min(s.out_w, (win.pad_left + win.stride_w - 1) / win.stride_w);
  const int64_t last = s.in_w - 1 - span_w + win.pad_left;  // ox·stride ≤ last
  const int64_t xb = std::max(xa, std::min(s.out_w, last < 0 ? 0 : last / win.stride_w + 1));
  // Stride 2: output pixel q of a vector reads input pixel 2q of the 128 bytes at its first pixel;
  // permutex2var picks those dwords (words for C = 2).
  alignas(64) int32_t idx32[16];
  alignas(64) int16_t idx16[32];
  for (int64_t j = 0; j < 16; ++j) idx32[j] = int32_t((2 * (4 * j / c) * c + 4 * j % c) / 4);
  for (int64_t j = 0; j < 32; ++j) idx16[j] = int16_t(2 * j);
  const __m512i pick = c == 2 ? _mm512_load_si512(idx16) : _mm512_load_si512(idx32);
  std::vector<int64_t> tap_dy(static_cast<size_t>(taps)), tap_dx(static_cast<size_t>(taps));
  for (int64_t t = 0; t < taps; ++t) {
    tap_dy[size_t(t)] = (t / win.kernel_w) * win.dilation_h;
    tap_dx[size_t(t)] = (t % win.kernel_w) * win.dilation_w;
  }
  std::vector<const uint8_t*> tap_row(static_cast<size_t>(taps));  // tap t's input row + its column offset, or null

  for (int64_t n = 0; n < images; ++n) {
    const uint8_t* image = x + n * s.in_h * in_row;
    uint8_t* out_image = y + n * s.out_h * out_row;
    for (int64_t oy = rows.begin; oy < rows.end; ++oy) {
      const int64_t y0 = oy * win.stride_h - win.pad_top;
      uint8_t* out = out_image + oy * out_row;
      // Any pixel, any padding: every block of channels, padded taps read zx.
      auto pixel = [&](int64_t ox) {
        const int64_t x0 = ox * win.stride_w - win.pad_left;
        for (int64_t b = 0; b < nb; ++b) {
          const __mmask64 m = bits(std::min(kLanes, c - b * kLanes));
          auto load = [&](int64_t t) {
            const int64_t iy = y0 + tap_dy[size_t(t)], ix = x0 + tap_dx[size_t(t)];
            if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) return k.zx;
            return _mm512_maskz_loadu_epi8(m, image + iy * in_row + ix * c + b * kLanes);
          };
          const BlockData d = data(b);
          auto weight = [&](int64_t t) { return _mm512_loadu_si512(d.w + kLanes * t); };
          _mm512_mask_storeu_epi8(out + ox * c + b * kLanes, m, block<kZw>(load, weight, taps, d, k));
        }
      };
      if (!chunked) {
        for (int64_t ox = 0; ox < s.out_w; ++ox) pixel(ox);
        continue;
      }
      for (int64_t t = 0; t < taps; ++t) {
        const int64_t iy = y0 + tap_dy[size_t(t)];
        tap_row[size_t(t)] = iy >= 0 && iy < s.in_h ? image + iy * in_row + tap_dx[size_t(t)] * c : nullptr;
      }
      const RowArgs row_args{out, tap_row.data(), xa, xb, per_vec, c, taps, win.stride_w, win.pad_left, pick, data(0)};
      for (int64_t ox = 0; ox < xa; ++ox) pixel(ox);
      if (taps == 9)  // 3×3: the 9 weight vectors stay in registers along the row
        chunks<kZw, 9>(row_args, k);
      else
        chunks<kZw, 0>(row_args, k);
      for (int64_t ox = xb; ox < s.out_w; ++ox) pixel(ox);
    }
  }
}

}  // namespace

bool depthwise_supports(const ConvShape& s) { return s.groups == s.in_c && s.in_c == s.out_c && s.groups > 1; }

void depthwise_pack(const ConvParams& p, const QuantizedWeights& w, PackedWeights* out) {
  ref::conv2d_pack(p, w, out);  // data = [c][kh][kw] (one input channel per group), bias folded
  const ConvShape& s = p.shape;
  // Integer requantization or other shapes keep the reference layout; run defers to ref::conv2d.
  if (!depthwise_supports(s) || w.fixed) return;
  const int64_t c = s.out_c, taps = s.window.kernel_h * s.window.kernel_w;
  std::vector<int8_t> data(size_t(blocks(c) * taps * kLanes), 0);
  for (int64_t b = 0; b < blocks(c); ++b)
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t l = 0; l < kLanes; ++l) {
        const int64_t ch = lane_channel(c, b, l);
        if (ch < c) data[size_t((b * taps + t) * kLanes + l)] = out->data[size_t(ch * taps + t)];
      }
  out->data = std::move(data);
  out->bias = to_acc_order(out->bias, c);
  out->multipliers = to_acc_order(out->multipliers, c);
  if (!out->zero_points.empty()) out->zero_points = to_acc_order(out->zero_points, c);
}

size_t depthwise_scratch_bytes(const ConvParams&) { return 0; }

void depthwise_conv2d(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows,
                      void* scratch) {
  if (!depthwise_supports(p.shape) || !p.weights->fixed.empty())
    return ref::conv2d(p, x, y, images, rows, scratch);
  if (p.weights->zero_points.empty())
    run<false>(p, x, y, images, rows);
  else
    run<true>(p, x, y, images, rows);
}

}  // namespace tinyptq::int8::avx512vnni
