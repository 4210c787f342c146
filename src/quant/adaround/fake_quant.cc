#include "quant/adaround/fake_quant.h"

#include <string>

#include "core/cpu_features.h"
#include "core/error.h"

namespace tinyptq::adaround {

void fake_quantize_avx2(float* x, int64_t n, float scale, float lo, float hi);  // fake_quant_avx2.cc

void fake_quantize_tensor(std::span<float> x, const QParams& p) {
  check_qparams(p);
  check(p.axis < 0, "fake_quantize_tensor: per-tensor parameters expected");
  if (!cpu_runs_avx2_files()) return fake_quantize(x, p);
  const int32_t zp = p.zero_point[0];
  fake_quantize_avx2(x.data(), int64_t(x.size()), p.scale[0], float(qmin(p.format) - zp), float(qmax(p.format) - zp));
}

}  // namespace tinyptq::adaround
