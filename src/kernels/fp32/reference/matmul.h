// Reference MatMul with numpy semantics (2-D, batched with broadcasting, 1-D promotion), float.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace tinyptq::fp32_ref {

struct MatMulParams {
  int64_t m = 0, n = 0, k = 0;
  int64_t batch = 1;                          // product of the broadcast batch dims
  std::vector<int64_t> a_offsets, b_offsets;  // per output batch: start of its A and B matrix
  Shape out_shape;
};

// a: [..., M, K] (1-D [K] is treated as [1,K] and M dropped from the output), b: [..., K, N] (1-D [K] as
// [K,1], N dropped); batch dims broadcast as in numpy. Throws Error on inconsistent shapes.
MatMulParams make_matmul_params(const Shape& a, const Shape& b);

// y[t,i,j] = Σ_k A_t[i,k]·B_t[k,j], summed in float in k order, for every broadcast batch t.
void matmul(const MatMulParams& p, const float* a, const float* b, float* y);

}  // namespace tinyptq::fp32_ref
