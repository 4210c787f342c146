// Dense float matrix products for the AdaRound / layer-runner math (row-major, explicit leading
// dimensions). Every output element is one fixed chain of multiply-adds over the inner index
// (NN: c ← c + a[i,k]·b[k,j] for k = 0…K−1; NT: eight interleaved lane sums over the inner index, added
// in a fixed order, see matmul_impl.h), so an element's value never depends on the matrix sizes, the
// tiling or how rows are split across threads. The AVX-512 or AVX2+FMA variant (fused multiply-add) is
// chosen once at run time when the CPU has it; every variant is single-threaded.
#pragma once
#include <cstdint>

namespace tinyptq::adaround {

// C[M,N] = (accumulate ? C : 0) + A[M,K] · B[K,N].
void matmul_nn(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
               float* c, int64_t ldc, bool accumulate);

// C[M,N] = (accumulate ? C : 0) + A[M,L] · B[N,L]ᵀ (dot products of rows).
void matmul_nt(int64_t m, int64_t n, int64_t l, const float* a, int64_t lda, const float* b, int64_t ldb,
               float* c, int64_t ldc, bool accumulate);

// "avx512", "avx2" or "portable": the variant in use (the widest the CPU runs).
const char* matmul_variant();

// The variants, for tests and benchmarks. avx512 and avx2 both use fused multiply-adds and give bitwise
// the same results; portable rounds the product and the sum separately.
enum class MatmulVariant { kPortable, kAvx2, kAvx512 };
bool matmul_variant_supported(MatmulVariant v);
MatmulVariant best_matmul_variant();
void matmul_nn_with(MatmulVariant v, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                    int64_t ldb, float* c, int64_t ldc, bool accumulate);
void matmul_nt_with(MatmulVariant v, int64_t m, int64_t n, int64_t l, const float* a, int64_t lda, const float* b,
                    int64_t ldb, float* c, int64_t ldc, bool accumulate);

}  // namespace tinyptq::adaround
