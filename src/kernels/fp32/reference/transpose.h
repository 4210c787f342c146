// Reference Transpose (any permutation), for float and widened integer tensors.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace tinyptq::fp32_ref {

struct TransposeParams {
  Shape out_shape;                  // out_shape[d] = in_shape[perm[d]]
  std::vector<int64_t> in_strides;  // per output axis: stride of input axis perm[d]
  int64_t count = 0;
};

// perm must be a permutation of 0..rank−1; empty means reversed axes (ONNX default). Throws Error otherwise.
TransposeParams make_transpose_params(const Shape& x, const std::vector<int64_t>& perm);

// y[i_0, ..., i_{r−1}] = x[j] with j_{perm[d]} = i_d.
void transpose(const TransposeParams& p, const float* x, float* y);
void transpose(const TransposeParams& p, const int64_t* x, int64_t* y);

}  // namespace tinyptq::fp32_ref
