// VNNI Conv2D run. Per image, the rows a call needs are first copied into the zero-point-padded source
// (conv2d_vnni.h: PaddedSource), so the inner loop has no bounds checks. Tiles of NP output pixels of one
// row × NB blocks of 16 output channels keep NP·NB zmm accumulators; per (tap, quad of input channels) NB
// weight vectors are loaded and each pixel's 4 input bytes are broadcast once and meet them in NB
// vpdpbusd. acc = bias + Σ x̃·w in int32 (exact by the accumulator contract; wrapping sums are
// order-independent, so acc + bias − zw·Σ x̃ equals the reference bit for bit), then the float
// requantization of requantize_float: v = float(acc)·M, clamp to [min − zy, max − zy] (NaN → lower
// bound, as max_ps returns its second operand), round half to even (cvtps2dq, default MXCSR), + zy; or,
// when the pack kept fixed-point multipliers, the integer requantization of requantize_fixed
// (fixed_point_avx512.h).
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "kernels/int8/avx512/conv2d_vnni.h"
#include "kernels/int8/avx512/fixed_point_avx512.h"
#include "kernels/int8/reference/conv2d.h"
#include "quant/requant.h"

// GCC 12 flags the self-initialised _mm512_undefined_*() pass-through operands inside the intrinsics
// (cvtepi32_ps, max_ps, ...) as maybe-uninitialized: a known false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace tinyptq::int8::avx512vnni {

namespace {

inline int32_t load_quad(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

struct Args {
  int64_t pixel_bytes;  // source bytes between neighbouring output pixels: stride_w·c4
  int64_t tap_row, tap_col;  // source bytes between kernel rows (dilation_h·cols·c4) and columns
  int64_t kernel_h, kernel_w, quads, c4;
  const int8_t* weights;
  int64_t block_bytes;  // packed bytes of one block of 16 output channels: taps·quads·64
  const int32_t* bias;
  const int32_t* zero_points;  // null when every zw is 0
  const float* multipliers;
  const FixedPointMultiplier* fixed;  // non-null: integer requantization
  bool fixed_vector;                  // every fixed shift ≤ 0 (M < 1): the vector path of fixed_requant
  int64_t out_c;
  float lo, hi;  // min − zy, max − zy
  int32_t out_zero_point;
};

using TileFn = void (*)(const Args& a, const uint8_t* src, int64_t block, uint8_t* out);

// Output pixels i < NP at src + i·pixel_bytes (their windows' top-left), channel blocks [block,
// block + NB); out points at pixel 0, channel 0. PB > 0: pixel_bytes as a compile-time constant (the
// pixel addresses become displacements instead of NP index registers).
template <int NP, int NB, int PB>
void tile(const Args& a, const uint8_t* src, int64_t block, uint8_t* out) {
  const int64_t pixel_bytes = PB > 0 ? PB : a.pixel_bytes;
  // The accumulators start at the folded bias (lanes past out_c: 0).
  __m512i bias_v[NB];
#pragma GCC unroll 4
  for (int j = 0; j < NB; ++j) {
    const int64_t c0 = (block + j) * kBlock, n = a.out_c - c0 < kBlock ? a.out_c - c0 : kBlock;
    bias_v[j] = _mm512_maskz_loadu_epi32(__mmask16((1u << n) - 1), a.bias + c0);
  }
  __m512i acc[NP][NB];
#pragma GCC unroll 16
  for (int i = 0; i < NP; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NB; ++j) acc[i][j] = bias_v[j];
  const int8_t* w = a.weights + block * a.block_bytes;
  for (int64_t ky = 0; ky < a.kernel_h; ++ky) {
    for (int64_t kx = 0; kx < a.kernel_w; ++kx) {
      const uint8_t* s = src + ky * a.tap_row + kx * a.tap_col;
      for (int64_t q = 0; q < a.quads; ++q, w += kBlock * kQuad, s += kQuad) {
        __m512i wv[NB];
#pragma GCC unroll 4
        for (int j = 0; j < NB; ++j) wv[j] = _mm512_loadu_si512(w + j * a.block_bytes);
#pragma GCC unroll 16
        for (int i = 0; i < NP; ++i) {
          const __m512i xv = _mm512_set1_epi32(load_quad(s + i * pixel_bytes));
#pragma GCC unroll 4
          for (int j = 0; j < NB; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], xv, wv[j]);
        }
      }
    }
  }
  const __m512 lo_v = _mm512_set1_ps(a.lo), hi_v = _mm512_set1_ps(a.hi);
  const __m512i zy_v = _mm512_set1_epi32(a.out_zero_point);
  int32_t sums[NP];
  if (a.zero_points) {
    // Σ x̃ over each pixel's window (the padded source holds zx in padded taps, 0 in added channels).
    for (int i = 0; i < NP; ++i) {
      int32_t sum = 0;
      for (int64_t ky = 0; ky < a.kernel_h; ++ky)
        for (int64_t kx = 0; kx < a.kernel_w; ++kx) {
          const uint8_t* s = src + i * pixel_bytes + ky * a.tap_row + kx * a.tap_col;
          for (int64_t c = 0; c < a.c4; ++c) sum += s[c];
        }
      sums[i] = sum;
    }
  }
  if (a.fixed) {
    const __m512i lo_i = _mm512_set1_epi32(int32_t(a.lo)), hi_i = _mm512_set1_epi32(int32_t(a.hi));
    // Lane l of a block reads fixed[c0 + l]: {multiplier, shift} pairs, 2 int32 apart.
    const __m512i pairs = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int j = 0; j < NB; ++j) {
      const int64_t c0 = (block + j) * kBlock, n = a.out_c - c0 < kBlock ? a.out_c - c0 : kBlock;
      const __mmask16 mask = __mmask16((1u << n) - 1);
      const auto* f = reinterpret_cast<const int32_t*>(a.fixed + c0);
      const __m512i m_v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), mask, pairs, f, 4);
      const __m512i e_v = _mm512_sub_epi32(_mm512_setzero_si512(),
                                           _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), mask, pairs, f + 1, 4));
      const __m512i zw_v =
          a.zero_points ? _mm512_maskz_loadu_epi32(mask, a.zero_points + c0) : _mm512_setzero_si512();
      for (int i = 0; i < NP; ++i) {
        __m512i v = acc[i][j];
        if (a.zero_points) v = _mm512_sub_epi32(v, _mm512_mullo_epi32(zw_v, _mm512_set1_epi32(sums[i])));
        uint8_t* o = out + i * a.out_c + c0;
        if (a.fixed_vector) {
          _mm_mask_storeu_epi8(o, mask, _mm512_cvtepi32_epi8(fixed_requant(v, m_v, e_v, lo_i, hi_i, zy_v)));
        } else {  // some M ≥ 1: the scalar formula
          alignas(64) int32_t lanes[kBlock];
          _mm512_store_si512(lanes, v);
          for (int64_t l = 0; l < n; ++l)
            o[l] = uint8_t(requantize_fixed(lanes[l], a.fixed[c0 + l], a.out_zero_point,
                                            int32_t(a.lo) + a.out_zero_point, int32_t(a.hi) + a.out_zero_point));
        }
      }
    }
    return;
  }
#pragma GCC unroll 4
  for (int j = 0; j < NB; ++j) {
    const int64_t c0 = (block + j) * kBlock, n = a.out_c - c0 < kBlock ? a.out_c - c0 : kBlock;
    const __mmask16 mask = __mmask16((1u << n) - 1);
    const __m512 mult_v = _mm512_maskz_loadu_ps(mask, a.multipliers + c0);
    const __m512i zw_v =
        a.zero_points ? _mm512_maskz_loadu_epi32(mask, a.zero_points + c0) : _mm512_setzero_si512();
#pragma GCC unroll 16
    for (int i = 0; i < NP; ++i) {
      __m512i v = acc[i][j];
      if (a.zero_points) v = _mm512_sub_epi32(v, _mm512_mullo_epi32(zw_v, _mm512_set1_epi32(sums[i])));
      __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), mult_v);
      f = _mm512_min_ps(_mm512_max_ps(f, lo_v), hi_v);
      const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), zy_v);
      _mm_mask_storeu_epi8(out + i * a.out_c + c0, mask, _mm512_cvtepi32_epi8(q));
    }
  }
}

// Tiles of 1..MaxNP pixels for NB blocks: table[k − 1] computes k pixels.
template <int NB, int PB, size_t... I>
constexpr std::array<TileFn, sizeof...(I)> tile_table(std::index_sequence<I...>) {
  return {&tile<int(I) + 1, NB, PB>...};
}

// Pixels per tile for NB blocks: NP·NB = 16 accumulators (enough independent chains to hide the
// vpdpbusd latency, leaving registers for the NB weight vectors and the broadcast).
template <int NB>
constexpr int kMaxPixels = 16 / NB;

template <int NB, int PB>
void row(const Args& a, const uint8_t* src, int64_t out_w, int64_t blocks, uint8_t* out) {
  static constexpr auto table = tile_table<NB, PB>(std::make_index_sequence<kMaxPixels<NB>>{});
  constexpr int np = kMaxPixels<NB>;
  for (int64_t b = 0; b < blocks; b += NB) {
    int64_t ox = 0;
    for (; ox + np <= out_w; ox += np) tile<np, NB, PB>(a, src + ox * a.pixel_bytes, b, out + ox * a.out_c);
    if (ox < out_w) table[size_t(out_w - ox - 1)](a, src + ox * a.pixel_bytes, b, out + ox * a.out_c);
  }
}

using RowFn = void (*)(const Args& a, const uint8_t* src, int64_t out_w, int64_t blocks, uint8_t* out);

// Channel blocks per tile: 4 when they divide the blocks, else 2, else 1; pixel strides of ResNet-like
// shapes (c4 · stride ∈ {4, 16, 32, 64}) get a constant-stride tile.
template <int NB>
RowFn pick_stride(int64_t pixel_bytes) {
  switch (pixel_bytes) {
    case 4: return row<NB, 4>;
    case 16: return row<NB, 16>;
    case 32: return row<NB, 32>;
    case 64: return row<NB, 64>;
    default: return row<NB, 0>;
  }
}

RowFn pick_row(int64_t blocks, int64_t pixel_bytes) {
  if (blocks % 4 == 0) return pick_stride<4>(pixel_bytes);
  if (blocks % 2 == 0) return pick_stride<2>(pixel_bytes);
  return pick_stride<1>(pixel_bytes);
}

}  // namespace

void conv2d(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows, void* scratch) {
  const ConvShape& s = p.shape;
  if (s.groups != 1) return ref::conv2d(p, x, y, images, rows, scratch);  // packed by ref::conv2d_pack
  if (rows.end <= rows.begin) return;
  const PackedWeights& pw = *p.weights;
  const PaddedSource g = padded_source(s);
  const Window2d& w = s.window;
  const int64_t cols = g.direct ? s.in_w : g.cols;

  Args a{};
  a.pixel_bytes = w.stride_w * g.c4;
  a.tap_row = w.dilation_h * cols * g.c4;
  a.tap_col = w.dilation_w * g.c4;
  a.kernel_h = w.kernel_h, a.kernel_w = w.kernel_w;
  a.quads = g.c4 / kQuad, a.c4 = g.c4;
  a.weights = pw.data.data();
  a.block_bytes = w.kernel_h * w.kernel_w * a.quads * kBlock * kQuad;
  a.bias = pw.bias.data();
  a.zero_points = pw.zero_points.empty() ? nullptr : pw.zero_points.data();
  a.multipliers = pw.multipliers.data();
  if (!pw.fixed.empty()) {
    static_assert(sizeof(FixedPointMultiplier) == 2 * sizeof(int32_t));
    a.fixed = pw.fixed.data();
    a.fixed_vector = std::all_of(pw.fixed.begin(), pw.fixed.end(), [](FixedPointMultiplier m) { return m.shift <= 0; });
  }
  a.out_c = s.out_c;
  a.lo = float(int64_t{p.output.min} - p.output.zero_point);
  a.hi = float(int64_t{p.output.max} - p.output.zero_point);
  a.out_zero_point = p.output.zero_point;
  const int64_t blocks = (s.out_c + kBlock - 1) / kBlock;
  const int64_t row_bytes = cols * g.c4;
  const RowFn row_fn = pick_row(blocks, a.pixel_bytes);

  for (int64_t n = 0; n < images; ++n) {
    const uint8_t* image = x + n * s.in_h * s.in_w * s.in_c;
    const uint8_t* src = image;
    if (!g.direct)
      src = padded_rows(s, p.input_zero_point, image, scratch, rows.begin * w.stride_h,
                        (rows.end - 1) * w.stride_h + (w.kernel_h - 1) * w.dilation_h + 1);
    for (int64_t oy = rows.begin; oy < rows.end; ++oy) {
      const uint8_t* src_row = src + oy * w.stride_h * row_bytes;
      uint8_t* out_row = y + ((n * s.out_h + oy) * s.out_w) * s.out_c;
      row_fn(a, src_row, s.out_w, blocks, out_row);
    }
  }
}

}  // namespace tinyptq::int8::avx512vnni
