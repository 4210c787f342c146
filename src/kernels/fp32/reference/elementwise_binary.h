// Reference Add / Sub / Mul with ONNX multidirectional (numpy) broadcasting, float.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace tinyptq::fp32_ref {

enum class BinaryOp { kAdd, kSub, kMul };

// Shapes are right-aligned; along each axis the sizes must be equal or one of them 1, and
// out[d] = max(a[d], b[d]) (or 0 when either is 0).
struct BroadcastParams {
  Shape out_shape;
  std::vector<int64_t> a_strides, b_strides;  // per output axis; 0 where that operand is broadcast
  int64_t out_count = 0;
};

// Throws Error when the shapes are not broadcastable.
BroadcastParams make_broadcast_params(const Shape& a, const Shape& b);

// y[i] = a[ia(i)] ∘ b[ib(i)] for every output index i, ∘ ∈ {+, −, ·}, ia/ib the broadcast source indices.
void elementwise_binary(const BroadcastParams& p, BinaryOp op, const float* a, const float* b, float* y);

}  // namespace tinyptq::fp32_ref
