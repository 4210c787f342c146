#include "kernels/fp32/reference/concat.h"

#include <cstring>
#include <string>

#include "core/error.h"

namespace tinyptq::fp32_ref {

ConcatParams make_concat_params(const std::vector<Shape>& inputs, int64_t axis) {
  check(!inputs.empty(), "Concat has no inputs");
  const Shape& first = inputs[0];
  const int64_t rank = int64_t(first.size());
  check(rank >= 1, "Concat of a scalar");
  check(axis >= -rank && axis < rank,
        "Concat axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  if (axis < 0) axis += rank;
  ConcatParams p;
  p.out_shape = first;
  p.out_shape[size_t(axis)] = 0;
  for (int64_t d = 0; d < axis; ++d) p.outer *= first[size_t(d)];
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Shape& s = inputs[k];
    check(int64_t(s.size()) == rank, "Concat input " + std::to_string(k) + " has shape " + shape_str(s) +
                                         ", whose rank differs from input 0's " + shape_str(first));
    int64_t chunk = 1;
    for (int64_t d = 0; d < rank; ++d) {
      if (d != axis)
        check(s[size_t(d)] == first[size_t(d)], "Concat input " + std::to_string(k) + " has shape " +
                                                    shape_str(s) + ", which differs from input 0's " +
                                                    shape_str(first) + " off axis " + std::to_string(axis));
      if (d >= axis) chunk *= s[size_t(d)];
    }
    p.out_shape[size_t(axis)] += s[size_t(axis)];
    p.chunks.push_back(chunk);
  }
  return p;
}

void concat(const ConcatParams& p, const float* const* x, float* y) {
  for (int64_t o = 0; o < p.outer; ++o)
    for (size_t k = 0; k < p.chunks.size(); ++k) {
      const int64_t n = p.chunks[k];
      std::memcpy(y, x[k] + o * n, size_t(n) * sizeof(float));
      y += n;
    }
}

}  // namespace tinyptq::fp32_ref
