#include "kernels/fp32/reference/matmul.h"

#include <algorithm>

#include "core/error.h"

namespace tinyptq::fp32_ref {

MatMulParams make_matmul_params(const Shape& a_in, const Shape& b_in) {
  check(!a_in.empty() && !b_in.empty(),
        "MatMul inputs must have rank >= 1, got " + shape_str(a_in) + " and " + shape_str(b_in));
  Shape a = a_in, b = b_in;
  const bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  MatMulParams p;
  p.m = a[a.size() - 2];
  p.k = a[a.size() - 1];
  p.n = b[b.size() - 1];
  check(b[b.size() - 2] == p.k,
        "MatMul inner dimensions differ: " + shape_str(a_in) + " and " + shape_str(b_in));
  // Broadcast the batch dims (all but the last two), right-aligned.
  const Shape a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
  const size_t rank = std::max(a_batch.size(), b_batch.size());
  Shape batch(rank, 1);
  std::vector<int64_t> a_stride(rank, 0), b_stride(rank, 0);
  int64_t sa = p.m * p.k, sb = p.k * p.n;
  for (size_t t = 0; t < rank; ++t) {
    const size_t axis = rank - 1 - t;
    const int64_t da = t < a_batch.size() ? a_batch[a_batch.size() - 1 - t] : 1;
    const int64_t db = t < b_batch.size() ? b_batch[b_batch.size() - 1 - t] : 1;
    check(da == db || da == 1 || db == 1, "MatMul batch dimensions of " + shape_str(a_in) + " and " +
                                              shape_str(b_in) + " are not broadcastable");
    batch[axis] = da == 1 ? db : da;
    a_stride[axis] = da == 1 ? 0 : sa;
    b_stride[axis] = db == 1 ? 0 : sb;
    sa *= da;
    sb *= db;
  }
  p.batch = num_elements(batch);
  p.out_shape = batch;
  if (!a_vec) p.out_shape.push_back(p.m);
  if (!b_vec) p.out_shape.push_back(p.n);
  num_elements(p.out_shape);
  num_elements(a_in);
  num_elements(b_in);
  p.a_offsets.resize(p.batch);
  p.b_offsets.resize(p.batch);
  std::vector<int64_t> idx(rank, 0);
  for (int64_t t = 0; t < p.batch; ++t) {
    int64_t oa = 0, ob = 0;
    for (size_t d = 0; d < rank; ++d) {
      oa += idx[d] * a_stride[d];
      ob += idx[d] * b_stride[d];
    }
    p.a_offsets[t] = oa;
    p.b_offsets[t] = ob;
    for (size_t d = rank; d-- > 0;) {
      if (++idx[d] < batch[d]) break;
      idx[d] = 0;
    }
  }
  return p;
}

void matmul(const MatMulParams& p, const float* a, const float* b, float* y) {
  for (int64_t t = 0; t < p.batch; ++t) {
    const float* at = a + p.a_offsets[t];
    const float* bt = b + p.b_offsets[t];
    float* yt = y + t * p.m * p.n;
    for (int64_t i = 0; i < p.m; ++i) {
      for (int64_t j = 0; j < p.n; ++j) {
        float acc = 0.0f;
        for (int64_t k = 0; k < p.k; ++k) acc += at[i * p.k + k] * bt[k * p.n + j];
        yt[i * p.n + j] = acc;
      }
    }
  }
}

}  // namespace tinyptq::fp32_ref
