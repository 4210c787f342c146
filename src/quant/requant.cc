#include "quant/requant.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace tinyptq {

FixedPointMultiplier quantize_multiplier(double real_multiplier) {
  check(std::isfinite(real_multiplier) && real_multiplier >= 0.0 && real_multiplier < 2147483648.0,
        "requantization: multiplier " + std::to_string(real_multiplier) + " is outside [0, 2^31)");
  if (real_multiplier == 0.0) return {};
  int exponent = 0;
  const double q = std::frexp(real_multiplier, &exponent);  // real = q · 2^exponent, q in [0.5, 1)
  int64_t m = std::llround(q * 2147483648.0);               // in [2^30, 2^31]
  if (m == (int64_t{1} << 31)) {
    m /= 2;
    ++exponent;
  }
  if (exponent < -31) return {};
  return {static_cast<int32_t>(m), exponent};
}

const char* requantization_name(Requantization r) { return r == Requantization::kFloat ? "float" : "integer"; }

Requantization parse_requantization(const std::string& name) {
  if (name == "float") return Requantization::kFloat;
  if (name == "integer") return Requantization::kInteger;
  throw Error("unknown requantization '" + name + "' (valid: float, integer)");
}

}  // namespace tinyptq
