// The SIMD fixed-point helpers (kernels/int8/avx512/fixed_point_avx512.h, avx2/fixed_point_avx2.h) applied
// lane by lane to arrays, so that fixed_point_lanes_test.cc can compare them with the scalar formulas of
// quant/requant.h. Defined in fixed_point_lanes_avx512.cc / _avx2.cc (compiled with that ISA's flags);
// call only where the CPU runs it. n is a multiple of 16.
#pragma once
#include <cstdint>

#include "quant/requant.h"

namespace tinyptq::int8::lanes {

struct Helpers {
  const char* isa;
  void (*mbqm)(const int32_t* v, FixedPointMultiplier m, int32_t* out, int64_t n);  // shift ≤ 0
  // MBQM(d·2^20, m) for |d| ≤ 255 (the integer Add's input scaling), shift ≤ 0.
  void (*mbqm_add_input)(const int32_t* d, FixedPointMultiplier m, int32_t* out, int64_t n);
  void (*rounded_average)(const int32_t* s, int32_t divisor, int32_t* out, int64_t n);
};

extern const Helpers kAvx512;
extern const Helpers kAvx2;

}  // namespace tinyptq::int8::lanes
