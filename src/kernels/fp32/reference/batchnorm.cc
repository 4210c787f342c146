#include "kernels/fp32/reference/batchnorm.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace tinyptq::fp32_ref {

BatchNormParams make_batchnorm_params(const Shape& x, const Shape& scale, const Shape& bias,
                                      const Shape& mean, const Shape& var, float epsilon) {
  check(x.size() >= 2, "BatchNormalization input must have rank >= 2, got " + shape_str(x));
  BatchNormParams p;
  p.batch = x[0];
  p.channels = x[1];
  p.inner = num_elements(Shape(x.begin() + 2, x.end()));
  p.epsilon = epsilon;
  const char* names[] = {"scale", "B", "mean", "var"};
  const Shape* shapes[] = {&scale, &bias, &mean, &var};
  for (int k = 0; k < 4; ++k)
    check(*shapes[k] == Shape{p.channels}, std::string("BatchNormalization ") + names[k] + " has shape " +
                                               shape_str(*shapes[k]) + ", expected [" +
                                               std::to_string(p.channels) + "] for input " + shape_str(x));
  check(std::isfinite(epsilon) && epsilon >= 0, "BatchNormalization epsilon must be finite and >= 0");
  return p;
}

void batchnorm(const BatchNormParams& p, const float* x, const float* scale, const float* bias,
               const float* mean, const float* var, float* y) {
  for (int64_t c = 0; c < p.channels; ++c) {
    const float a = scale[c] / std::sqrt(var[c] + p.epsilon);
    const float b = bias[c] - mean[c] * a;
    for (int64_t n = 0; n < p.batch; ++n) {
      const int64_t base = (n * p.channels + c) * p.inner;
      for (int64_t i = 0; i < p.inner; ++i) y[base + i] = x[base + i] * a + b;
    }
  }
}

}  // namespace tinyptq::fp32_ref
