#include "kernels/fp32/reference/softmax.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace tinyptq::fp32_ref {

SoftmaxParams make_softmax_params(const Shape& x, int64_t axis) {
  const int64_t rank = int64_t(x.size());
  check(rank >= 1, "Softmax input must have rank >= 1");
  check(axis >= -rank && axis < rank,
        "Softmax axis " + std::to_string(axis) + " is out of range for input " + shape_str(x));
  if (axis < 0) axis += rank;
  SoftmaxParams p;
  p.outer = num_elements(Shape(x.begin(), x.begin() + axis));
  p.axis_size = x[axis];
  p.inner = num_elements(Shape(x.begin() + axis + 1, x.end()));
  return p;
}

void softmax(const SoftmaxParams& p, const float* x, float* y) {
  for (int64_t o = 0; o < p.outer; ++o) {
    for (int64_t i = 0; i < p.inner; ++i) {
      const int64_t base = o * p.axis_size * p.inner + i;
      float max = -INFINITY;
      for (int64_t a = 0; a < p.axis_size; ++a) max = std::fmax(max, x[base + a * p.inner]);
      double sum = 0.0;
      for (int64_t a = 0; a < p.axis_size; ++a) {
        const float e = std::exp(x[base + a * p.inner] - max);
        y[base + a * p.inner] = e;
        sum += e;
      }
      const float inv = float(1.0 / sum);
      for (int64_t a = 0; a < p.axis_size; ++a) y[base + a * p.inner] *= inv;
    }
  }
}

}  // namespace tinyptq::fp32_ref
