// Reference Gemm, float.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace tinyptq::fp32_ref {

struct GemmParams {
  int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  float alpha = 1.0f, beta = 1.0f;
  bool has_c = false;
  int64_t c_row_stride = 0, c_col_stride = 0;  // C broadcast to [M, N]: 0 along broadcast axes
};

// a: [M,K] ([K,M] with trans_a), b: [K,N] ([N,K] with trans_b), c (optional, pass nullptr): unidirectionally
// broadcastable to [M,N] — scalar, [N], [1,N], [M,1], [M,N]. Throws Error on inconsistent shapes.
GemmParams make_gemm_params(const Shape& a, const Shape& b, const Shape* c, bool trans_a, bool trans_b,
                            float alpha, float beta);

// y[i,j] = alpha · Σ_k A'[i,k]·B'[k,j] + beta · C[i,j], A' = trans_a ? Aᵀ : A, B' likewise; the dot product
// runs in float in k order; C may be null when has_c is false and is not read when beta = 0.
void gemm(const GemmParams& p, const float* a, const float* b, const float* c, float* y);

}  // namespace tinyptq::fp32_ref
