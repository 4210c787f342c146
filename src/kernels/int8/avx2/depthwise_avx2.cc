#include "kernels/int8/avx2/depthwise_avx2.h"

#include <immintrin.h>

#include <cstring>

#include "kernels/int8/reference/conv2d.h"

namespace tinyptq::int8::avx2 {

namespace {

constexpr int64_t kBlock = 16;  // channels per step: one xmm of bytes, two ymm of int32

int64_t padded_channels(int64_t c) { return (c + kBlock - 1) / kBlock * kBlock; }

// 16 bytes from p, of which only n are valid (n < 16 only at the last block): no read past p + n.
__m128i load_bytes(const uint8_t* p, int64_t n) {
  if (n == kBlock) return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if (n == 8) return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));  // 8-channel layers: one load
  alignas(16) uint8_t tmp[kBlock] = {};
  std::memcpy(tmp, p, size_t(n));
  return _mm_load_si128(reinterpret_cast<const __m128i*>(tmp));
}

}  // namespace

bool depthwise_supports(const ConvShape& s) { return s.groups == s.in_c && s.in_c == s.out_c && s.groups > 1; }

namespace {

// Lane order of a madd result for 16 channels: unpacklo/hi_epi16 work per 128-bit lane, so the two int32
// vectors hold channels [0..3 | 8..11] (lo) and [4..7 | 12..15] (hi). lane_channel(v, j): channel of
// int32 element j of vector v (0: lo, 1: hi).
int64_t lane_channel(int v, int j) { return (j < 4 ? 0 : 8) + 4 * v + (j & 3); }

// Per channel block: 16 int32 values in lane order (lo then hi), padding channels 0.
// With exactly 8 channels, lanes 8..15 repeat channels 0..7 (see depthwise_pack).
template <typename T>
std::vector<T> to_lane_order(const std::vector<T>& v, int64_t cp, int64_t channels) {
  std::vector<T> out(size_t(cp), T(0));
  for (int64_t b = 0; b < cp; b += kBlock)
    for (int vec = 0; vec < 2; ++vec)
      for (int j = 0; j < 8; ++j) {
        const int64_t c = channels == 8 ? lane_channel(vec, j) % 8 : b + lane_channel(vec, j);
        if (c < int64_t(v.size())) out[size_t(b + vec * 8 + j)] = v[size_t(c)];
      }
  return out;
}

}  // namespace

void depthwise_pack(const ConvParams& p, const QuantizedWeights& w, PackedWeights* out) {
  ref::conv2d_pack(p, w, out);  // data = [c][kh][kw] (one input channel per group), bias folded
  const ConvShape& s = p.shape;
  if (!depthwise_supports(s)) return;  // keeps the reference layout; run defers to ref::conv2d
  const int64_t taps = s.window.kernel_h * s.window.kernel_w, cp = padded_channels(s.out_c);
  const int64_t pairs = (taps + 1) / 2;
  // [block][pair][lo, hi][8 int32 lanes as 2 × int16]: the weights of taps 2q and 2q + 1 interleaved per
  // channel in madd lane order (an odd last tap pairs with a zero weight).
  std::vector<int16_t> data(size_t(cp / kBlock * pairs * 32), 0);
  for (int64_t b = 0; b < cp / kBlock; ++b)
    for (int64_t q = 0; q < pairs; ++q)
      for (int vec = 0; vec < 2; ++vec)
        for (int j = 0; j < 8; ++j) {
          // 8 channels: lanes 8..15 repeat channels 0..7, so one 16-byte load covers two output pixels.
          const int64_t c = s.out_c == 8 ? lane_channel(vec, j) % 8 : b * kBlock + lane_channel(vec, j);
          for (int h = 0; h < 2; ++h) {
            const int64_t t = 2 * q + h;
            const int16_t v = c < s.out_c && t < taps ? out->data[size_t(c * taps + t)] : int16_t(0);
            data[size_t(((b * pairs + q) * 2 + vec) * 16 + 2 * j + h)] = v;
          }
        }
  out->data.resize(data.size() * 2);
  std::memcpy(out->data.data(), data.data(), data.size() * 2);
  out->bias = to_lane_order(out->bias, cp, s.out_c);
  out->multipliers = to_lane_order(out->multipliers, cp, s.out_c);
  if (!out->zero_points.empty()) out->zero_points = to_lane_order(out->zero_points, cp, s.out_c);
}

size_t depthwise_scratch_bytes(const ConvParams&) { return 0; }

void depthwise_conv2d(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows,
                      void* scratch) {
  const ConvShape& s = p.shape;
  if (!depthwise_supports(s)) return ref::conv2d(p, x, y, images, rows, scratch);
  const Window2d& win = s.window;
  const PackedWeights& pw = *p.weights;
  const int64_t c_all = s.out_c, cp = padded_channels(c_all);
  const int64_t taps = win.kernel_h * win.kernel_w, pairs = (taps + 1) / 2;
  const bool has_zw = !pw.zero_points.empty();
  const __m256i zx16 = _mm256_set1_epi16(int16_t(p.input_zero_point));
  const __m256i ones16 = _mm256_set1_epi16(1);
  const __m256 lo = _mm256_set1_ps(float(int64_t{p.output.min} - p.output.zero_point));
  const __m256 hi = _mm256_set1_ps(float(int64_t{p.output.max} - p.output.zero_point));
  const __m256i zy = _mm256_set1_epi32(p.output.zero_point);
  const int16_t* wdata = reinterpret_cast<const int16_t*>(pw.data.data());
  // Offsets of every tap from the window's top-left input pixel (bytes), for the all-inside fast path.
  std::vector<int64_t> tap_offset(size_t(2 * pairs), -1);
  for (int64_t t = 0; t < taps; ++t)
    tap_offset[size_t(t)] = ((t / win.kernel_w) * win.dilation_h * s.in_w + (t % win.kernel_w) * win.dilation_w) * c_all;

  for (int64_t n = 0; n < images; ++n) {
    const uint8_t* image = x + n * s.in_h * s.in_w * c_all;
    uint8_t* out_image = y + n * s.out_h * s.out_w * c_all;
    for (int64_t oy = rows.begin; oy < rows.end; ++oy)
      for (int64_t ox = 0; ox < s.out_w;) {
        const int64_t y0 = oy * win.stride_h - win.pad_top, x0 = ox * win.stride_w - win.pad_left;
        const bool rows_inside = y0 >= 0 && y0 + (win.kernel_h - 1) * win.dilation_h < s.in_h;
        const bool interior = rows_inside && x0 >= 0 && x0 + (win.kernel_w - 1) * win.dilation_w < s.in_w;
        // 8 channels, stride 1: pixels ox and ox + 1 are adjacent 8-byte runs at every tap, one 16-byte block.
        const bool pair = c_all == 8 && win.stride_w == 1 && interior && ox + 1 < s.out_w &&
                          x0 + 1 + (win.kernel_w - 1) * win.dilation_w < s.in_w;
        const uint8_t* corner = interior ? image + (y0 * s.in_w + x0) * c_all : nullptr;
        for (int64_t c = 0; c < c_all; c += kBlock) {
          const int64_t nc = pair ? kBlock : c_all - c < kBlock ? c_all - c : kBlock;
          // x̃ of tap t for this block (16 × int16): the pixel, or the zero point for a padded / absent tap.
          auto tap_x = [&](int64_t t) -> __m256i {
            if (t >= taps) return zx16;  // pairs with a zero weight
            if (interior) return _mm256_cvtepu8_epi16(load_bytes(corner + tap_offset[size_t(t)] + c, nc));
            const int64_t iy = y0 + (t / win.kernel_w) * win.dilation_h;
            const int64_t ix = x0 + (t % win.kernel_w) * win.dilation_w;
            if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) return zx16;
            return _mm256_cvtepu8_epi16(load_bytes(image + (iy * s.in_w + ix) * c_all + c, nc));
          };
          __m256i acc0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pw.bias.data() + c));
          __m256i acc1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pw.bias.data() + c + 8));
          __m256i sum0 = _mm256_setzero_si256(), sum1 = _mm256_setzero_si256();
          const int16_t* wb = wdata + (c / kBlock) * pairs * 32;
          for (int64_t q = 0; q < pairs; ++q) {
            const __m256i xa = tap_x(2 * q), xb = tap_x(2 * q + 1);
            const __m256i p0 = _mm256_unpacklo_epi16(xa, xb), p1 = _mm256_unpackhi_epi16(xa, xb);
            const __m256i* wq = reinterpret_cast<const __m256i*>(wb + q * 32);
            // Σ of two products per int32 lane: |x̃·w| ≤ 255·128, exact.
            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(p0, _mm256_loadu_si256(wq)));
            acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(p1, _mm256_loadu_si256(wq + 1)));
            if (has_zw) {  // Σ x̃ over real taps only: the odd pad tap of the last pair must not count
              const __m256i xb_real = 2 * q + 1 < taps ? xb : _mm256_setzero_si256();
              const __m256i r0 = _mm256_unpacklo_epi16(xa, xb_real), r1 = _mm256_unpackhi_epi16(xa, xb_real);
              sum0 = _mm256_add_epi32(sum0, _mm256_madd_epi16(r0, ones16));
              sum1 = _mm256_add_epi32(sum1, _mm256_madd_epi16(r1, ones16));
            }
          }
          if (has_zw) {
            const __m256i* zw = reinterpret_cast<const __m256i*>(pw.zero_points.data() + c);
            acc0 = _mm256_sub_epi32(acc0, _mm256_mullo_epi32(_mm256_loadu_si256(zw), sum0));
            acc1 = _mm256_sub_epi32(acc1, _mm256_mullo_epi32(_mm256_loadu_si256(zw + 1), sum1));
          }
          const __m256 m0 = _mm256_loadu_ps(pw.multipliers.data() + c);
          const __m256 m1 = _mm256_loadu_ps(pw.multipliers.data() + c + 8);
          // max(v, lo) returns lo for a NaN v, as requantize_float's v >= lo ? v : lo.
          const __m256 f0 = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc0), m0), lo), hi);
          const __m256 f1 = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc1), m1), lo), hi);
          const __m256i q0 = _mm256_add_epi32(_mm256_cvtps_epi32(f0), zy);  // half to even (MXCSR default)
          const __m256i q1 = _mm256_add_epi32(_mm256_cvtps_epi32(f1), zy);
          // q0 = channels [0..3 | 8..11], q1 = [4..7 | 12..15]; packus per 128-bit lane gives words
          // [0..7 | 8..15], the natural order.
          const __m256i words = _mm256_packus_epi32(q0, q1);
          const __m128i bytes =
              _mm_packus_epi16(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1));
          uint8_t* o = out_image + (oy * s.out_w + ox) * c_all + c;
          if (nc == kBlock) {
            _mm_storeu_si128(reinterpret_cast<__m128i*>(o), bytes);
          } else {
            alignas(16) uint8_t tmp[kBlock];
            _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
            std::memcpy(o, tmp, size_t(nc));
          }
        }
        ox += pair ? 2 : 1;
      }
  }
}

}  // namespace tinyptq::int8::avx2
