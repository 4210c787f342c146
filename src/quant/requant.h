// Requantization: turning an int32 accumulator into an output code. For a conv/gemm output
//   real_y = s_x·s_w·acc   (acc = Σ (x_q − zp_x)(w_q − zp_w) + bias_q, bias_q = round(bias / (s_x·s_w)))
//   y_q    = zp_y + real_y / s_y = zp_y + M·acc,     M = s_x·s_w / s_y
// Two pipelines compute round(M·acc):
//  * integer (gemmlowp / TFLite reference): M ≈ m·2^(shift−31) with m a Q31 value in [2^30, 2^31);
//    y = RDBPOT(SRDHM(acc, m), −shift) for shift ≤ 0 (two roundings), one rounding for shift > 0.
//    Error against the real product ≤ 1 output unit (see docs/arithmetic.md).
//  * float (ONNX Runtime's QLinearConv on x86, MLAS MlasRequantizeOutput):
//    y = clamp(round_half_even(float(acc)·float(M)), qmin − zp, qmax − zp) + zp.
// The helpers are inline: kernels call them once per output element.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "quant/qparams.h"

namespace tinyptq {

// How int32 accumulators become output codes. kFloat: ONNX Runtime's x86 arithmetic (a float multiplier,
// round half to even). kInteger: integer only, as TFLite Micro / CMSIS-NN compute on a microcontroller
// (fixed-point multiplier + shift, SRDHM + RDBPOT; Add with a 2^20 left shift; pools with rounded integer
// division). docs/arithmetic.md spells out both; kernels/int8/kernel_table.h
// where each op uses which.
enum class Requantization { kFloat, kInteger };
const char* requantization_name(Requantization r);           // "float" / "integer"
Requantization parse_requantization(const std::string& name);  // inverse; Error listing the choices

// M ≈ multiplier · 2^(shift − 31). multiplier is 0 (M = 0 or M < 2^-32) or in [2^30, 2^31); shift ≤ 32.
struct FixedPointMultiplier {
  int32_t multiplier = 0;
  int shift = 0;
};

// Q31 representation of a real multiplier in [0, 2^31): M = q·2^e with q in [0.5, 1) (frexp),
// multiplier = round_half_away(q·2^31) (q → 1 carries into the exponent). M < 2^-32 gives {0, 0}: then
// |acc·M| < 1/2 for every int32 acc, so the true result rounds to 0 anyway (TFLite does the same).
// Throws Error for NaN, Inf, negative or ≥ 2^31 multipliers.
FixedPointMultiplier quantize_multiplier(double real_multiplier);

// round(a·b / 2^31) with ties toward +∞ — gemmlowp's "(a·b + nudge) / 2^31" with nudge = 2^30 for
// a·b ≥ 0 and 1 − 2^30 otherwise and a truncating divide, which equals floor((a·b + 2^30) / 2^31).
// The only overflow, a = b = INT32_MIN (result 2^31), saturates to INT32_MAX.
inline int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == std::numeric_limits<int32_t>::min() && b == a) return std::numeric_limits<int32_t>::max();
  const int64_t ab = int64_t{a} * int64_t{b};
  return static_cast<int32_t>((ab + (int64_t{1} << 30)) >> 31);  // >> on int64 is floor division (C++20)
}

// x / 2^exponent rounded to nearest, ties away from zero; exponent in [0, 31]. gemmlowp's form:
// floor(x / 2^e) + (remainder > threshold), remainder = x mod 2^e, threshold = 2^(e−1) − 1 + (x < 0).
inline int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  const int64_t mask = (int64_t{1} << exponent) - 1;
  const int64_t remainder = int64_t{x} & mask;
  const int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return static_cast<int32_t>((int64_t{x} >> exponent) + (remainder > threshold ? 1 : 0));
}

// round(acc · m · 2^(shift − 31)) saturated to int32.
//  shift ≤ 0 (M < 1): TFLite's MultiplyByQuantizedMultiplier, rounding_divide_by_pot(SRDHM(acc, m), −shift):
//                     a ties-up rounding at 2^-31 followed by a ties-away rounding at 2^shift.
//  shift > 0 (M ≥ 1): TFLite computes SRDHM(acc · 2^shift, m), i.e. floor((acc·m + 2^(30−shift)) /
//  2^(31−shift));
//                     we evaluate that in int64, which is identical whenever acc · 2^shift fits in int32
//                     and saturates instead of overflowing otherwise.
// m must come from quantize_multiplier (shift ≤ 32).
inline int32_t multiply_by_quantized_multiplier(int32_t acc, FixedPointMultiplier m) {
  if (m.shift <= 0) {
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(acc, m.multiplier), -m.shift);
  }
  const int64_t p = int64_t{acc} * m.multiplier;  // |p| < 2^62
  const int64_t r = m.shift <= 30 ? (p + (int64_t{1} << (30 - m.shift))) >> (31 - m.shift)
                                  : p * (int64_t{1} << (m.shift - 31));  // shift 31 or 32: exact, |r| < 2^63
  return static_cast<int32_t>(
      std::clamp<int64_t>(r, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()));
}

// Integer requantization of an accumulator to an output code: clamp(MBQM(acc, m) + zero_point, qmin, qmax)
// (TFLite's int8 Conv/FullyConnected output stage). The sum is formed in int64, so a saturated MBQM clamps.
inline int32_t requantize_fixed(int32_t acc, FixedPointMultiplier m, int32_t zero_point, int32_t qmin,
                                int32_t qmax) {
  const int64_t v = int64_t{multiply_by_quantized_multiplier(acc, m)} + zero_point;
  return static_cast<int32_t>(std::clamp<int64_t>(v, qmin, qmax));
}

// round(sum / count) with ties away from zero, as TFLite's AveragePool: (sum ± count/2) / count with a
// truncating divide (count/2 truncated). count ≥ 1; |sum| + count/2 must fit int32.
inline int32_t rounded_average(int32_t sum, int32_t count) {
  return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

// ONNX Runtime x86 float requantization (MLAS): scale in float, clamp to the code range relative to the
// zero point, round half to even (cvtps2dq), add the zero point. Clamping before rounding equals
// clamp(round(v) + zp) because the bounds are integers. A NaN product maps to qmin.
inline int32_t requantize_float(int32_t acc, float multiplier, int32_t zero_point, int32_t qmin,
                                int32_t qmax) {
  float v = static_cast<float>(acc) * multiplier;
  const float lo = static_cast<float>(int64_t{qmin} - zero_point);
  const float hi = static_cast<float>(int64_t{qmax} - zero_point);
  v = v >= lo ? v : lo;
  v = v <= hi ? v : hi;
  return static_cast<int32_t>(round_half_even(v)) + zero_point;
}

}  // namespace tinyptq
