#include "kernels/fp32/reference/gemm.h"

#include <string>

#include "core/error.h"

namespace tinyptq::fp32_ref {

GemmParams make_gemm_params(const Shape& a, const Shape& b, const Shape* c, bool trans_a, bool trans_b,
                            float alpha, float beta) {
  check(a.size() == 2, "Gemm input A must be 2-D, got " + shape_str(a));
  check(b.size() == 2, "Gemm input B must be 2-D, got " + shape_str(b));
  GemmParams p;
  p.trans_a = trans_a;
  p.trans_b = trans_b;
  p.alpha = alpha;
  p.beta = beta;
  p.m = trans_a ? a[1] : a[0];
  p.k = trans_a ? a[0] : a[1];
  const int64_t kb = trans_b ? b[1] : b[0];
  p.n = trans_b ? b[0] : b[1];
  check(p.k == kb, "Gemm inner dimensions differ: A " + shape_str(a) + (trans_a ? " (transposed)" : "") +
                       " and B " + shape_str(b) + (trans_b ? " (transposed)" : ""));
  num_elements({p.m, p.n});
  if (c) {
    p.has_c = true;
    const Shape& cs = *c;
    check(cs.size() <= 2, "Gemm input C must have rank <= 2, got " + shape_str(cs));
    const int64_t rows = cs.size() == 2 ? cs[0] : 1;
    const int64_t cols = cs.empty() ? 1 : cs.back();
    check((rows == 1 || rows == p.m) && (cols == 1 || cols == p.n),
          "Gemm input C " + shape_str(cs) + " does not broadcast to [" + std::to_string(p.m) + "," +
              std::to_string(p.n) + "]");
    p.c_row_stride = rows == 1 ? 0 : cols;
    p.c_col_stride = cols == 1 ? 0 : 1;
  }
  return p;
}

void gemm(const GemmParams& p, const float* a, const float* b, const float* c, float* y) {
  // Element strides of A' and B' as [M,K] and [K,N] views.
  const int64_t a_row = p.trans_a ? 1 : p.k, a_col = p.trans_a ? p.m : 1;
  const int64_t b_row = p.trans_b ? 1 : p.n, b_col = p.trans_b ? p.k : 1;
  for (int64_t i = 0; i < p.m; ++i) {
    for (int64_t j = 0; j < p.n; ++j) {
      float acc = 0.0f;
      for (int64_t k = 0; k < p.k; ++k) acc += a[i * a_row + k * a_col] * b[k * b_row + j * b_col];
      float v = p.alpha * acc;
      if (p.has_c && p.beta != 0.0f) v += p.beta * c[i * p.c_row_stride + j * p.c_col_stride];
      y[i * p.n + j] = v;
    }
  }
}

}  // namespace tinyptq::fp32_ref
