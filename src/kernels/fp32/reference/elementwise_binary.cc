#include "kernels/fp32/reference/elementwise_binary.h"

#include <algorithm>

#include "core/error.h"

namespace tinyptq::fp32_ref {

namespace {
// Row-major strides of `shape` placed on the last shape.size() of `rank` output axes; 0 on size-1 axes.
std::vector<int64_t> broadcast_strides(const Shape& shape, size_t rank) {
  std::vector<int64_t> strides(rank, 0);
  int64_t stride = 1;
  for (size_t k = 0; k < shape.size(); ++k) {
    const size_t axis = rank - 1 - k;
    const int64_t dim = shape[shape.size() - 1 - k];
    strides[axis] = dim == 1 ? 0 : stride;
    stride *= dim;
  }
  return strides;
}

template <typename F>
void broadcast_loop(const BroadcastParams& p, const float* a, const float* b, float* y, F f) {
  const size_t rank = p.out_shape.size();
  if (rank == 0) {
    y[0] = f(a[0], b[0]);
    return;
  }
  // Innermost axis as a plain loop, outer axes through an index counter.
  const int64_t inner = p.out_shape[rank - 1];
  const int64_t sa = p.a_strides[rank - 1], sb = p.b_strides[rank - 1];
  std::vector<int64_t> idx(rank, 0);
  int64_t ia = 0, ib = 0;
  for (int64_t base = 0; base < p.out_count; base += inner) {
    for (int64_t i = 0; i < inner; ++i) y[base + i] = f(a[ia + i * sa], b[ib + i * sb]);
    for (size_t d = rank - 1; d-- > 0;) {
      ia += p.a_strides[d];
      ib += p.b_strides[d];
      if (++idx[d] < p.out_shape[d]) break;
      ia -= p.a_strides[d] * p.out_shape[d];
      ib -= p.b_strides[d] * p.out_shape[d];
      idx[d] = 0;
    }
  }
}
}  // namespace

BroadcastParams make_broadcast_params(const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  BroadcastParams p;
  p.out_shape.assign(rank, 1);
  for (size_t k = 0; k < rank; ++k) {
    const int64_t da = k < a.size() ? a[a.size() - 1 - k] : 1;
    const int64_t db = k < b.size() ? b[b.size() - 1 - k] : 1;
    check(da == db || da == 1 || db == 1,
          "shapes " + shape_str(a) + " and " + shape_str(b) + " are not broadcastable");
    p.out_shape[rank - 1 - k] = da == 1 ? db : da;
  }
  p.out_count = num_elements(p.out_shape);
  num_elements(a);
  num_elements(b);
  p.a_strides = broadcast_strides(a, rank);
  p.b_strides = broadcast_strides(b, rank);
  return p;
}

void elementwise_binary(const BroadcastParams& p, BinaryOp op, const float* a, const float* b, float* y) {
  if (p.out_count == 0) return;
  switch (op) {
    case BinaryOp::kAdd: broadcast_loop(p, a, b, y, [](float u, float v) { return u + v; }); break;
    case BinaryOp::kSub: broadcast_loop(p, a, b, y, [](float u, float v) { return u - v; }); break;
    case BinaryOp::kMul: broadcast_loop(p, a, b, y, [](float u, float v) { return u * v; }); break;
  }
}

}  // namespace tinyptq::fp32_ref
