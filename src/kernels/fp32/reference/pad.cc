#include "kernels/fp32/reference/pad.h"

#include <string>

#include "core/error.h"

namespace tinyptq::fp32_ref {

constexpr int64_t kMaxPad = int64_t(1) << 20;  // per side: bounds a hostile file's output size

PadParams make_pad_params(const Shape& x, const std::vector<int64_t>& amounts, PadMode mode, float value) {
  const size_t rank = x.size();
  check(amounts.size() == 2 * rank, "Pad has " + std::to_string(amounts.size()) + " pads for input " +
                                        shape_str(x) + ", expected " + std::to_string(2 * rank));
  PadParams p{x, x, {}, mode, value};
  for (size_t d = 0; d < rank; ++d) {
    const int64_t b = amounts[d], e = amounts[d + rank], n = x[d];
    const std::string dim = "Pad of dimension " + std::to_string(d) + " (size " + std::to_string(n) + ")";
    check(b >= -kMaxPad && b <= kMaxPad && e >= -kMaxPad && e <= kMaxPad,
          dim + ": pads are out of range");
    if (mode != PadMode::kConstant) {
      check(b >= 0 && e >= 0, dim + ": negative pads are only supported in constant mode");
      check(n > 0 || (b == 0 && e == 0), dim + ": cannot pad an empty dimension in this mode");
    }
    if (mode == PadMode::kReflect)
      check(b < n && e < n, dim + ": reflect pads must be smaller than the dimension");
    p.out_shape[d] = n + b + e;
    check(p.out_shape[d] >= 0, dim + ": pads " + std::to_string(b) + ", " + std::to_string(e) +
                                   " crop more than the dimension holds");
    p.begins.push_back(b);
  }
  return p;
}

namespace {

// Source index along a dimension of size n for output index o (−1: the constant).
int64_t source_index(int64_t o, int64_t begin, int64_t n, PadMode mode) {
  int64_t i = o - begin;
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::kConstant: return -1;
    case PadMode::kEdge: return i < 0 ? 0 : n - 1;
    case PadMode::kReflect: return i < 0 ? -i : 2 * (n - 1) - i;  // pads < n keep this inside [0, n)
  }
  return -1;
}

}  // namespace

void pad(const PadParams& p, const float* x, float* y) {
  const size_t rank = p.in_shape.size();
  std::vector<int64_t> in_strides(rank, 1);
  for (size_t d = rank; d-- > 1;) in_strides[d - 1] = in_strides[d] * p.in_shape[d];
  const int64_t count = num_elements(p.out_shape);
  std::vector<int64_t> idx(rank, 0);  // the output multi-index of element k
  for (int64_t k = 0; k < count; ++k) {
    int64_t src = 0;
    bool inside = true;
    for (size_t d = 0; d < rank && inside; ++d) {
      const int64_t i = source_index(idx[d], p.begins[d], p.in_shape[d], p.mode);
      inside = i >= 0;
      src += i * in_strides[d];
    }
    y[k] = inside ? x[src] : p.value;
    for (size_t d = rank; d-- > 0;) {  // odometer step
      if (++idx[d] < p.out_shape[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace tinyptq::fp32_ref
