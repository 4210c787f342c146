#include "kernels/fp32/reference/quantize_linear.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace tinyptq::fp32_ref {

QuantParams make_quant_params(const Shape& x, const Shape& scale, const Shape* zero_point, int64_t axis,
                              DType qtype) {
  QuantParams p;
  switch (qtype) {
    case DType::kUint8: p.qmin = 0, p.qmax = 255; break;
    case DType::kInt8: p.qmin = -128, p.qmax = 127; break;
    case DType::kInt32: p.qmin = INT32_MIN, p.qmax = INT32_MAX; break;
    default: throw Error(std::string("quantized type ") + dtype_name(qtype) + " is not supported");
  }
  const int64_t count = num_elements(x);
  const int64_t scale_count = num_elements(scale);
  if (zero_point)
    check(*zero_point == scale || (num_elements(*zero_point) == 1 && scale_count == 1),
          "zero point shape " + shape_str(*zero_point) + " differs from scale shape " + shape_str(scale));
  if (scale.size() == 0 || (scale.size() == 1 && scale[0] == 1)) {
    p.outer = 1;
    p.inner = count;
    return p;
  }
  check(scale.size() == 1, "scale must be a scalar or 1-D, got " + shape_str(scale));
  const int64_t rank = int64_t(x.size());
  check(axis >= -rank && axis < rank,
        "axis " + std::to_string(axis) + " is out of range for input " + shape_str(x));
  if (axis < 0) axis += rank;
  check(scale[0] == x[axis], "per-axis scale " + shape_str(scale) + " does not match input " + shape_str(x) +
                                 " along axis " + std::to_string(axis));
  p.per_axis = true;
  p.outer = num_elements(Shape(x.begin(), x.begin() + axis));
  p.axis_size = x[axis];
  p.inner = num_elements(Shape(x.begin() + axis + 1, x.end()));
  return p;
}

void quantize_linear(const QuantParams& p, const float* x, const float* scale, const int64_t* zero_point,
                     int64_t* y) {
  for (int64_t o = 0; o < p.outer; ++o) {
    for (int64_t a = 0; a < p.axis_size; ++a) {
      const int64_t c = p.per_axis ? a : 0;
      const float s = scale[c];
      const int64_t zp = zero_point ? zero_point[c] : 0;
      const int64_t base = (o * p.axis_size + a) * p.inner;
      for (int64_t i = 0; i < p.inner; ++i) {
        const float v = std::nearbyint(x[base + i] / s);  // default rounding mode: half to even
        int64_t q;
        if (std::isnan(v))
          q = zp;
        else if (v >= float(p.qmax - zp))
          q = p.qmax;
        else if (v <= float(p.qmin - zp))
          q = p.qmin;
        else
          q = int64_t(v) + zp;
        y[base + i] = q;
      }
    }
  }
}

void dequantize_linear(const QuantParams& p, const int64_t* q, const float* scale, const int64_t* zero_point,
                       float* y) {
  for (int64_t o = 0; o < p.outer; ++o) {
    for (int64_t a = 0; a < p.axis_size; ++a) {
      const int64_t c = p.per_axis ? a : 0;
      const float s = scale[c];
      const int64_t zp = zero_point ? zero_point[c] : 0;
      const int64_t base = (o * p.axis_size + a) * p.inner;
      for (int64_t i = 0; i < p.inner; ++i) y[base + i] = float(q[base + i] - zp) * s;
    }
  }
}

}  // namespace tinyptq::fp32_ref
