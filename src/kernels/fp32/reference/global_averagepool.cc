#include "kernels/fp32/reference/global_averagepool.h"

#include "core/error.h"

namespace tinyptq::fp32_ref {

GlobalAveragePoolParams make_global_averagepool_params(const Shape& x) {
  check(x.size() >= 3, "GlobalAveragePool input must have rank >= 3 [N,C,spatial...], got " + shape_str(x));
  GlobalAveragePoolParams p;
  p.batch = x[0];
  p.channels = x[1];
  p.inner = num_elements(Shape(x.begin() + 2, x.end()));
  check(p.inner > 0, "GlobalAveragePool input " + shape_str(x) + " has an empty spatial extent");
  p.out_shape = x;
  for (size_t k = 2; k < x.size(); ++k) p.out_shape[k] = 1;
  return p;
}

void global_averagepool(const GlobalAveragePoolParams& p, const float* x, float* y) {
  for (int64_t nc = 0; nc < p.batch * p.channels; ++nc) {
    float sum = 0.0f;
    for (int64_t i = 0; i < p.inner; ++i) sum += x[nc * p.inner + i];
    y[nc] = sum / float(p.inner);
  }
}

}  // namespace tinyptq::fp32_ref
