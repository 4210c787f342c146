// The ymm Conv2D run shared by the AVX2 (vpmaddwd) and AVX-VNNI (vpdpbusd) kernels; only the product of a
// quad of input bytes with a packed weight line differs (the Dot policy). Include only from *_avx2.cc /
// *_avxvnni.cc files: everything here has internal linkage, so each ISA's translation unit gets its own
// copy compiled with its own flags.
//
// Per image, the rows a call needs are copied into the zero-point-padded source (avx512/conv2d_vnni.h:
// PaddedSource), so the inner loop has no bounds checks. Tiles of NP output pixels of one row × NB blocks
// of 16 output channels keep NP·2·NB ymm accumulators (8 int32 channels each); per (tap, quad of input
// channels) each pixel's 4 input bytes are broadcast once (Dot::expand) and meet the 2·NB weight vectors.
// acc = bias + Σ x̃·w in int32 (exact by the accumulator contract; wrapping sums are order-independent,
// so acc − zw·Σ x̃ equals the reference bit for bit), then requantize_float: v = float(acc)·M, clamp to
// [min − zy, max − zy] (NaN → lower bound, as max_ps returns its second operand), round half to even
// (cvtps2dq, default MXCSR), + zy, packed with unsigned saturation (exact: the values are in [0, 255]);
// or, when the pack kept fixed-point multipliers, requantize_fixed's integer arithmetic (fixed_requant).
#pragma once
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "kernels/int8/avx2/fixed_point_avx2.h"
#include "kernels/int8/avx512/conv2d_vnni.h"
#include "kernels/int8/kernel_table.h"
#include "kernels/int8/reference/conv2d.h"
#include "quant/requant.h"

namespace tinyptq::int8::ymm_conv {
namespace {

using avx512vnni::kBlock;  // 16 output channels per packed block = 2 ymm
using avx512vnni::kQuad;
constexpr int64_t kLanes = 8;  // int32 lanes (output channels) per ymm

inline int32_t load_quad(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// All-ones in lanes i < n (n clamped to [0, 8]): the masked loads read only channels < out_c.
inline __m256i lane_mask(int64_t n) {
  const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int32_t(n < 0 ? 0 : n > kLanes ? kLanes : n)), index);
}

struct Args {
  int64_t pixel_bytes;       // source bytes between neighbouring output pixels: stride_w·c4
  int64_t tap_row, tap_col;  // source bytes between kernel rows (dilation_h·cols·c4) and columns
  int64_t kernel_h, kernel_w, quads, c4;
  const int8_t* weights;
  int64_t block_bytes;  // packed bytes of one block of 16 output channels: taps·quads·Dot::kQuadBytes
  const int32_t* bias;
  const int32_t* zero_points;  // null when every zw is 0
  const float* multipliers;
  const FixedPointMultiplier* fixed;  // non-null: integer requantization
  bool fixed_vector;                  // every fixed shift ≤ 0 (M < 1): the vector path of fixed_requant
  int64_t out_c;
  float lo, hi;  // min − zy, max − zy
  int32_t out_zero_point;
};

// The 16 output bytes of one block from its two int32 vectors (values in [0, 255]); n < 16 stores n.
inline void store_block(uint8_t* o, __m256i q0, __m256i q1, int64_t n) {
  // packus works per 128-bit lane: words [q0 0..3, q1 0..3 | q0 4..7, q1 4..7]; 0xD8 restores 0..15.
  const __m256i words = _mm256_permute4x64_epi64(_mm256_packus_epi32(q0, q1), 0xD8);
  const __m128i bytes = _mm_packus_epi16(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1));
  if (n == kBlock) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o), bytes);
  } else {
    alignas(16) uint8_t tmp[kBlock];
    _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
    std::memcpy(o, tmp, size_t(n));
  }
}

// Integer requantization of a tile's accumulators (zero-point term already subtracted).
template <int NP, int NB>
void store_fixed(const Args& a, const __m256i (&acc)[NP][2 * NB], int64_t c0, uint8_t* out) {
  const __m256i lo = _mm256_set1_epi32(int32_t(a.lo)), hi = _mm256_set1_epi32(int32_t(a.hi));
  const __m256i zy = _mm256_set1_epi32(a.out_zero_point);
  for (int j = 0; j < NB; ++j) {
    const int64_t cb = c0 + j * kBlock, n = a.out_c - cb < kBlock ? a.out_c - cb : kBlock;
    if (n <= 0) break;
    if (!a.fixed_vector) {  // some M ≥ 1: the scalar formula
      for (int i = 0; i < NP; ++i) {
        alignas(32) int32_t lanes[kBlock];
        _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc[i][2 * j]);
        _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + kLanes), acc[i][2 * j + 1]);
        for (int64_t l = 0; l < n; ++l)
          out[i * a.out_c + cb + l] = uint8_t(requantize_fixed(lanes[l], a.fixed[cb + l], a.out_zero_point,
                                                               int32_t(a.lo) + a.out_zero_point,
                                                               int32_t(a.hi) + a.out_zero_point));
      }
      continue;
    }
    alignas(32) int32_t m[kBlock] = {}, e[kBlock] = {};  // lanes ≥ n: m = 0, e = 0 (never stored)
    for (int64_t l = 0; l < n; ++l) m[l] = a.fixed[cb + l].multiplier, e[l] = -a.fixed[cb + l].shift;
    const __m256i m0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(m));
    const __m256i m1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(m + kLanes));
    const __m256i e0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(e));
    const __m256i e1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(e + kLanes));
    for (int i = 0; i < NP; ++i)
      store_block(out + i * a.out_c + cb, ymm_fixed::fixed_requant(acc[i][2 * j], m0, e0, lo, hi, zy),
                  ymm_fixed::fixed_requant(acc[i][2 * j + 1], m1, e1, lo, hi, zy), n);
  }
}

using TileFn = void (*)(const Args& a, const uint8_t* src, int64_t block, uint8_t* out);

// Output pixels i < NP at src + i·pixel_bytes (their windows' top-left), channel blocks [block,
// block + NB); out points at pixel 0, channel 0. Vector v = 2j + h holds channels 16(block + j) + 8h +
// [0, 8). PB > 0: pixel_bytes as a compile-time constant (pixel addresses become displacements).
template <typename Dot, int NP, int NB, int PB>
void tile(const Args& a, const uint8_t* src, int64_t block, uint8_t* out) {
  constexpr int NV = 2 * NB;
  const int64_t pixel_bytes = PB > 0 ? PB : a.pixel_bytes;
  const int64_t c0 = block * kBlock;
  __m256i mask[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) mask[v] = lane_mask(a.out_c - c0 - v * kLanes);
  __m256i acc[NP][NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    const __m256i b = _mm256_maskload_epi32(a.bias + c0 + v * kLanes, mask[v]);  // lanes ≥ out_c: 0
#pragma GCC unroll 8
    for (int i = 0; i < NP; ++i) acc[i][v] = b;
  }
  const int8_t* w = a.weights + block * a.block_bytes;
  for (int64_t ky = 0; ky < a.kernel_h; ++ky) {
    for (int64_t kx = 0; kx < a.kernel_w; ++kx) {
      const uint8_t* s = src + ky * a.tap_row + kx * a.tap_col;
      for (int64_t q = 0; q < a.quads; ++q, w += Dot::kQuadBytes, s += kQuad) {
        typename Dot::Weights wv[NB];
#pragma GCC unroll 4
        for (int j = 0; j < NB; ++j) wv[j] = Dot::load(w + j * a.block_bytes);
#pragma GCC unroll 8
        for (int i = 0; i < NP; ++i) {
          const typename Dot::Input xv = Dot::expand(load_quad(s + i * pixel_bytes));
#pragma GCC unroll 4
          for (int j = 0; j < NB; ++j) Dot::accumulate(acc[i][2 * j], acc[i][2 * j + 1], xv, wv[j]);
        }
      }
    }
  }
  if (a.zero_points) {
    // − zw·Σ x̃ over each pixel's window (the padded source holds zx in padded taps, 0 in added channels).
    __m256i zw[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) zw[v] = _mm256_maskload_epi32(a.zero_points + c0 + v * kLanes, mask[v]);
    for (int i = 0; i < NP; ++i) {
      int32_t sum = 0;
      for (int64_t ky = 0; ky < a.kernel_h; ++ky)
        for (int64_t kx = 0; kx < a.kernel_w; ++kx) {
          const uint8_t* s = src + i * pixel_bytes + ky * a.tap_row + kx * a.tap_col;
          for (int64_t c = 0; c < a.c4; ++c) sum += s[c];
        }
      const __m256i sum_v = _mm256_set1_epi32(sum);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_sub_epi32(acc[i][v], _mm256_mullo_epi32(zw[v], sum_v));
    }
  }
  if (a.fixed) return store_fixed<NP, NB>(a, acc, c0, out);
  const __m256 lo_v = _mm256_set1_ps(a.lo), hi_v = _mm256_set1_ps(a.hi);
  const __m256i zy_v = _mm256_set1_epi32(a.out_zero_point);
#pragma GCC unroll 4
  for (int j = 0; j < NB; ++j) {
    const int64_t cb = c0 + j * kBlock, n = a.out_c - cb < kBlock ? a.out_c - cb : kBlock;
    if (n <= 0) break;
    const __m256 m0 = _mm256_maskload_ps(a.multipliers + cb, mask[2 * j]);
    const __m256 m1 = _mm256_maskload_ps(a.multipliers + cb + kLanes, mask[2 * j + 1]);
#pragma GCC unroll 8
    for (int i = 0; i < NP; ++i) {
      __m256 f0 = _mm256_mul_ps(_mm256_cvtepi32_ps(acc[i][2 * j]), m0);
      __m256 f1 = _mm256_mul_ps(_mm256_cvtepi32_ps(acc[i][2 * j + 1]), m1);
      f0 = _mm256_min_ps(_mm256_max_ps(f0, lo_v), hi_v);
      f1 = _mm256_min_ps(_mm256_max_ps(f1, lo_v), hi_v);
      const __m256i q0 = _mm256_add_epi32(_mm256_cvtps_epi32(f0), zy_v);
      const __m256i q1 = _mm256_add_epi32(_mm256_cvtps_epi32(f1), zy_v);
      store_block(out + i * a.out_c + cb, q0, q1, n);
    }
  }
}

// Tiles of 1..MaxNP pixels for NB blocks: table[k − 1] computes k pixels.
template <typename Dot, int NB, int PB, size_t... I>
constexpr std::array<TileFn, sizeof...(I)> tile_table(std::index_sequence<I...>) {
  return {&tile<Dot, int(I) + 1, NB, PB>...};
}

// Pixels per tile for NB blocks: NP·2·NB = 12 accumulators, leaving 4 of the 16 ymm for the broadcast
// input and the weights (those that do not fit are read from memory by the multiply).
template <int NB>
constexpr int kMaxPixels = 6 / NB;
constexpr int kTileBlocks = 2;  // blocks per tile when they divide the blocks (else 1)

template <typename Dot, int NB, int PB>
void row(const Args& a, const uint8_t* src, int64_t out_w, int64_t blocks, uint8_t* out) {
  static constexpr auto table = tile_table<Dot, NB, PB>(std::make_index_sequence<kMaxPixels<NB>>{});
  constexpr int np = kMaxPixels<NB>;
  for (int64_t b = 0; b < blocks; b += NB) {
    int64_t ox = 0;
    for (; ox + np <= out_w; ox += np)
      tile<Dot, np, NB, PB>(a, src + ox * a.pixel_bytes, b, out + ox * a.out_c);
    if (ox < out_w) table[size_t(out_w - ox - 1)](a, src + ox * a.pixel_bytes, b, out + ox * a.out_c);
  }
}

using RowFn = void (*)(const Args& a, const uint8_t* src, int64_t out_w, int64_t blocks, uint8_t* out);

// Pixel strides of ResNet-like shapes (c4 · stride ∈ {4, 16, 32, 64}) get a constant-stride tile.
template <typename Dot, int NB>
RowFn pick_stride(int64_t pixel_bytes) {
  switch (pixel_bytes) {
    case 4: return row<Dot, NB, 4>;
    case 16: return row<Dot, NB, 16>;
    case 32: return row<Dot, NB, 32>;
    case 64: return row<Dot, NB, 64>;
    default: return row<Dot, NB, 0>;
  }
}

template <typename Dot>
RowFn pick_row(int64_t blocks, int64_t pixel_bytes) {
  if (blocks % kTileBlocks == 0) return pick_stride<Dot, kTileBlocks>(pixel_bytes);
  return pick_stride<Dot, 1>(pixel_bytes);
}

// The conv run for weights packed as [ceil(out_c/16)][kh·kw][ceil(in_c/4)][Dot::kQuadBytes].
template <typename Dot>
void conv2d(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows, void* scratch) {
  const ConvShape& s = p.shape;
  if (s.groups != 1) return ref::conv2d(p, x, y, images, rows, scratch);  // packed by ref::conv2d_pack
  if (rows.end <= rows.begin) return;
  const PackedWeights& pw = *p.weights;
  const avx512vnni::PaddedSource g = avx512vnni::padded_source(s);
  const Window2d& w = s.window;
  const int64_t cols = g.direct ? s.in_w : g.cols;

  Args a{};
  a.pixel_bytes = w.stride_w * g.c4;
  a.tap_row = w.dilation_h * cols * g.c4;
  a.tap_col = w.dilation_w * g.c4;
  a.kernel_h = w.kernel_h, a.kernel_w = w.kernel_w;
  a.quads = g.c4 / kQuad, a.c4 = g.c4;
  a.weights = pw.data.data();
  a.block_bytes = w.kernel_h * w.kernel_w * a.quads * Dot::kQuadBytes;
  a.bias = pw.bias.data();
  a.zero_points = pw.zero_points.empty() ? nullptr : pw.zero_points.data();
  a.multipliers = pw.multipliers.data();
  if (!pw.fixed.empty()) {
    a.fixed = pw.fixed.data();
    a.fixed_vector = std::all_of(pw.fixed.begin(), pw.fixed.end(), [](FixedPointMultiplier m) { return m.shift <= 0; });
  }
  a.out_c = s.out_c;
  a.lo = float(int64_t{p.output.min} - p.output.zero_point);
  a.hi = float(int64_t{p.output.max} - p.output.zero_point);
  a.out_zero_point = p.output.zero_point;
  const int64_t blocks = (s.out_c + kBlock - 1) / kBlock;
  const int64_t row_bytes = cols * g.c4;
  const RowFn row_fn = pick_row<Dot>(blocks, a.pixel_bytes);

  for (int64_t n = 0; n < images; ++n) {
    const uint8_t* image = x + n * s.in_h * s.in_w * s.in_c;
    const uint8_t* src = image;
    if (!g.direct)
      src = avx512vnni::padded_rows(s, p.input_zero_point, image, scratch, rows.begin * w.stride_h,
                                    (rows.end - 1) * w.stride_h + (w.kernel_h - 1) * w.dilation_h + 1);
    for (int64_t oy = rows.begin; oy < rows.end; ++oy) {
      const uint8_t* src_row = src + oy * w.stride_h * row_bytes;
      uint8_t* out_row = y + ((n * s.out_h + oy) * s.out_w) * s.out_c;
      row_fn(a, src_row, s.out_w, blocks, out_row);
    }
  }
}

}  // namespace
}  // namespace tinyptq::int8::ymm_conv
