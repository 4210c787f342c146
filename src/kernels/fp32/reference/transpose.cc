#include "kernels/fp32/reference/transpose.h"

#include <string>

#include "core/error.h"

namespace tinyptq::fp32_ref {

TransposeParams make_transpose_params(const Shape& x, const std::vector<int64_t>& perm_in) {
  const size_t rank = x.size();
  std::vector<int64_t> perm = perm_in;
  if (perm.empty())
    for (size_t d = 0; d < rank; ++d) perm.push_back(int64_t(rank - 1 - d));
  check(perm.size() == rank,
        "Transpose perm has " + std::to_string(perm.size()) + " entries for input " + shape_str(x));
  std::vector<bool> seen(rank, false);
  for (int64_t v : perm) {
    check(v >= 0 && v < int64_t(rank) && !seen[v],
          "Transpose perm is not a permutation of the axes of " + shape_str(x));
    seen[v] = true;
  }
  std::vector<int64_t> strides(rank, 1);
  for (size_t d = rank; d-- > 1;) strides[d - 1] = strides[d] * x[d];
  TransposeParams p;
  p.count = num_elements(x);
  for (size_t d = 0; d < rank; ++d) {
    p.out_shape.push_back(x[perm[d]]);
    p.in_strides.push_back(strides[perm[d]]);
  }
  return p;
}

namespace {
template <typename T>
void transpose_any(const TransposeParams& p, const T* x, T* y) {
  const size_t rank = p.out_shape.size();
  if (p.count == 0) return;
  if (rank == 0) {
    y[0] = x[0];
    return;
  }
  std::vector<int64_t> idx(rank, 0);
  int64_t src = 0;
  for (int64_t o = 0; o < p.count; ++o) {
    y[o] = x[src];
    for (size_t d = rank; d-- > 0;) {
      src += p.in_strides[d];
      if (++idx[d] < p.out_shape[d]) break;
      src -= p.in_strides[d] * p.out_shape[d];
      idx[d] = 0;
    }
  }
}
}  // namespace

void transpose(const TransposeParams& p, const float* x, float* y) { transpose_any(p, x, y); }
void transpose(const TransposeParams& p, const int64_t* x, int64_t* y) { transpose_any(p, x, y); }

}  // namespace tinyptq::fp32_ref
