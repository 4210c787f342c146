// Dense float matrix products for the AdaRound / layer-runner math (row-major, explicit leading
// dimensions). Every output element is one fixed chain of multiply-adds over the inner index
// (NN: c ← c + a[i,k]·b[k,j] for k = 0…K−1; NT: eight interleaved lane sums over the inner index, added
// in a fixed order, see matmul_impl.h), so an element's value never depends on the matrix sizes, the
// tiling or how rows are split across threads. The AVX2+FMA variant (fused multiply-add) is chosen once
// at run time when the CPU has it; both variants are single-threaded.
#pragma once
#include <cstdint>

namespace tinyptq::adaround {

// C[M,N] = (accumulate ? C : 0) + A[M,K] · B[K,N].
void matmul_nn(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
               float* c, int64_t ldc, bool accumulate);

// C[M,N] = (accumulate ? C : 0) + A[M,L] · B[N,L]ᵀ (dot products of rows).
void matmul_nt(int64_t m, int64_t n, int64_t l, const float* a, int64_t lda, const float* b, int64_t ldb,
               float* c, int64_t ldc, bool accumulate);

// "avx2" or "portable": the variant in use.
const char* matmul_variant();

}  // namespace tinyptq::adaround
