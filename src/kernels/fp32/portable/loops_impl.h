// Plain loops shared by the portable and the ISA translation units: each includes this header and
// compiles it with its own flags (the compiler vectorizes them to that ISA). Everything here has internal
// linkage so that no ISA-specific copy can be picked by the linker for another translation unit.
#pragma once
#include <cstdint>

#include "kernels/fp32/kernel_table.h"

namespace tinyptq::fp32 {
namespace {

// min(max(v, lo), hi) with NaN propagating (comparisons with NaN are false).
inline float clamp_one(float v, float lo, float hi) {
  v = v < lo ? lo : v;
  return v > hi ? hi : v;
}

[[maybe_unused]] void clamp_loop(const float* x, float* y, int64_t count, float lo, float hi) {
  for (int64_t i = 0; i < count; ++i) y[i] = clamp_one(x[i], lo, hi);
}

[[maybe_unused]] void add_clamp_loop(const float* a, const float* b, float* y, int64_t count, float lo,
                                     float hi) {
  for (int64_t i = 0; i < count; ++i) y[i] = clamp_one(a[i] + b[i], lo, hi);
}

// Σ_{i<k} term(i) with 16 interleaved partial sums (i ≡ j mod 16) added pairwise at the end: a fixed
// order, so a result does not depend on the ISA's vector width or on which rows/planes a call computes.
template <typename Term>
inline float sum16(int64_t k, Term term) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= k; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += term(i + j);
  for (int j = 0; i + j < k; ++j) acc[j] += term(i + j);
  for (int w = 8; w >= 1; w /= 2)
    for (int j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0];
}

inline float dot16(const float* a, const float* b, int64_t k) {
  return sum16(k, [&](int64_t i) { return a[i] * b[i]; });
}

[[maybe_unused]] void gemm_loop(const GemmPlan& p, const float* a, float* y, int64_t row_begin,
                                int64_t row_end) {
  const int64_t n = p.shape.n, k = p.shape.k;
  const float* b = p.packed_b.data();
  const float* c = p.c.empty() ? nullptr : p.c.data();
  for (int64_t i = row_begin; i < row_end; ++i) {
    const float* ai = a + i * k;
    const float* ci = c ? c + (p.c_per_row ? i * n : 0) : nullptr;
    for (int64_t j = 0; j < n; ++j) {
      const float v = p.shape.alpha * dot16(ai, b + j * k, k);
      y[i * n + j] = ci ? v + ci[j] : v;
    }
  }
}

[[maybe_unused]] void plane_mean_loop(const float* x, float* y, int64_t size, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const float* xi = x + i * size;
    y[i] = sum16(size, [&](int64_t k) { return xi[k]; }) / float(size);
  }
}

// Blocks of 16 rows: each block reads 16 contiguous rows and writes 16-float runs of every output row.
[[maybe_unused]] void transpose2d_loop(const float* x, float* y, int64_t rows, int64_t cols) {
  constexpr int64_t kBlock = 16;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    const int64_t r1 = r0 + kBlock < rows ? r0 + kBlock : rows;
    for (int64_t c = 0; c < cols; ++c)
      for (int64_t r = r0; r < r1; ++r) y[c * rows + r] = x[r * cols + c];
  }
}

}  // namespace
}  // namespace tinyptq::fp32
