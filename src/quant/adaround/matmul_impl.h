// The matmul kernels as templates over the multiply-add: instantiated once portable (a·b + c, two
// roundings) in matmul.cc and once with fused multiply-add in matmul_avx2.cc. Only those two files
// include this header.
//
// NN: 4×16 register tile; each element runs acc ← madd(a[i,k], b[k,j], acc), k ascending, from C or 0.
//     Edge rows/columns run the same chain one element at a time, so tiling never changes a value.
// NT: 4×2 tile of dot products; lane t (0…7) sums the products at inner indices ≡ t (mod 8) below
//     L8 = 8·⌊L/8⌋; the lanes are combined as ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)), then the tail
//     indices L8…L−1 are added in order, then the sum is added to C (when accumulating).
#pragma once
#include <cstdint>

namespace tinyptq::adaround::impl {

constexpr int kRowTile = 4;
constexpr int kColTile = 16;
constexpr int kLanes = 8;

template <class MAdd>
inline void nn_tile(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                    bool accumulate) {
  float acc[kRowTile][kColTile];
  for (int r = 0; r < kRowTile; ++r)
    for (int j = 0; j < kColTile; ++j) acc[r][j] = accumulate ? c[r * ldc + j] : 0.0f;
  for (int64_t p = 0; p < k; ++p) {
    const float* bp = b + p * ldb;
    for (int r = 0; r < kRowTile; ++r) {
      const float av = a[r * lda + p];
      for (int j = 0; j < kColTile; ++j) acc[r][j] = MAdd::apply(av, bp[j], acc[r][j]);
    }
  }
  for (int r = 0; r < kRowTile; ++r)
    for (int j = 0; j < kColTile; ++j) c[r * ldc + j] = acc[r][j];
}

// One row by kColTile columns.
template <class MAdd>
inline void nn_row(int64_t k, const float* a, const float* b, int64_t ldb, float* c, bool accumulate) {
  float acc[kColTile];
  for (int j = 0; j < kColTile; ++j) acc[j] = accumulate ? c[j] : 0.0f;
  for (int64_t p = 0; p < k; ++p) {
    const float av = a[p];
    const float* bp = b + p * ldb;
    for (int j = 0; j < kColTile; ++j) acc[j] = MAdd::apply(av, bp[j], acc[j]);
  }
  for (int j = 0; j < kColTile; ++j) c[j] = acc[j];
}

template <class MAdd>
inline float nn_element(int64_t k, const float* a, const float* b, int64_t ldb, float init) {
  float acc = init;
  for (int64_t p = 0; p < k; ++p) acc = MAdd::apply(a[p], b[p * ldb], acc);
  return acc;
}

template <class MAdd>
void matmul_nn(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
               float* c, int64_t ldc, bool accumulate) {
  const int64_t n_tiled = n - n % kColTile, m_tiled = m - m % kRowTile;
  for (int64_t j = 0; j < n_tiled; j += kColTile) {
    for (int64_t i = 0; i < m_tiled; i += kRowTile)
      nn_tile<MAdd>(k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, accumulate);
    for (int64_t i = m_tiled; i < m; ++i) nn_row<MAdd>(k, a + i * lda, b + j, ldb, c + i * ldc + j, accumulate);
  }
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = n_tiled; j < n; ++j)
      c[i * ldc + j] = nn_element<MAdd>(k, a + i * lda, b + j, ldb, accumulate ? c[i * ldc + j] : 0.0f);
}

inline float combine_lanes(const float* s) {
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

template <class MAdd>
inline float nt_element(int64_t l, const float* a, const float* b) {
  const int64_t l8 = l - l % kLanes;
  float s[kLanes] = {};
  for (int64_t q = 0; q < l8; q += kLanes)
    for (int t = 0; t < kLanes; ++t) s[t] = MAdd::apply(a[q + t], b[q + t], s[t]);
  float sum = combine_lanes(s);
  for (int64_t q = l8; q < l; ++q) sum = MAdd::apply(a[q], b[q], sum);
  return sum;
}

constexpr int kNtRows = 4;
constexpr int kNtCols = 2;

template <class MAdd>
inline void nt_tile(int64_t l, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                    bool accumulate) {
  const int64_t l8 = l - l % kLanes;
  float s[kNtRows][kNtCols][kLanes] = {};
  for (int64_t q = 0; q < l8; q += kLanes)
    for (int r = 0; r < kNtRows; ++r)
      for (int j = 0; j < kNtCols; ++j)
        for (int t = 0; t < kLanes; ++t) s[r][j][t] = MAdd::apply(a[r * lda + q + t], b[j * ldb + q + t], s[r][j][t]);
  for (int r = 0; r < kNtRows; ++r)
    for (int j = 0; j < kNtCols; ++j) {
      float sum = combine_lanes(s[r][j]);
      for (int64_t q = l8; q < l; ++q) sum = MAdd::apply(a[r * lda + q], b[j * ldb + q], sum);
      c[r * ldc + j] = accumulate ? c[r * ldc + j] + sum : sum;
    }
}

template <class MAdd>
void matmul_nt(int64_t m, int64_t n, int64_t l, const float* a, int64_t lda, const float* b, int64_t ldb,
               float* c, int64_t ldc, bool accumulate) {
  const int64_t m_tiled = m - m % kNtRows, n_tiled = n - n % kNtCols;
  for (int64_t i = 0; i < m_tiled; i += kNtRows)
    for (int64_t j = 0; j < n_tiled; j += kNtCols)
      nt_tile<MAdd>(l, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc, accumulate);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = (i < m_tiled ? n_tiled : 0); j < n; ++j) {
      const float sum = nt_element<MAdd>(l, a + i * lda, b + j * ldb);
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum;
    }
}

}  // namespace tinyptq::adaround::impl
