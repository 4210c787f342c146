// fixed_point_lanes.h on 16 lanes.
#include <immintrin.h>

#include "fixed_point_lanes.h"
#include "kernels/int8/avx512/fixed_point_avx512.h"
#include "kernels/int8/kernel_table.h"

// GCC 12 reports the masked AVX-512 intrinsics' internal operands as maybe uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace tinyptq::int8::lanes {
namespace {

using namespace avx512vnni;

__m512i load(const int32_t* p) { return _mm512_loadu_si512(p); }

void mbqm_lanes(const int32_t* v, FixedPointMultiplier m, int32_t* out, int64_t n) {
  const __m512i mult = _mm512_set1_epi32(m.multiplier), e = _mm512_set1_epi32(-m.shift);
  for (int64_t i = 0; i < n; i += 16) _mm512_storeu_si512(out + i, mbqm(load(v + i), mult, e));
}

void mbqm_add_input_lanes(const int32_t* d, FixedPointMultiplier m, int32_t* out, int64_t n) {
  constexpr int kSplit = 31 - kAddLeftShift;
  const __m512i mh = _mm512_set1_epi32(m.multiplier >> kSplit);
  const __m512i ml = _mm512_set1_epi32(m.multiplier & ((1 << kSplit) - 1));
  const __m512i e = _mm512_set1_epi32(-m.shift);
  for (int64_t i = 0; i < n; i += 16)
    _mm512_storeu_si512(out + i, mbqm_shifted_small<kSplit>(load(d + i), mh, ml, e));
}

void rounded_average_lanes(const int32_t* s, int32_t divisor, int32_t* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) _mm512_storeu_si512(out + i, rounded_average(load(s + i), divisor));
}

}  // namespace

const Helpers kAvx512 = {"avx512", mbqm_lanes, mbqm_add_input_lanes, rounded_average_lanes};

}  // namespace tinyptq::int8::lanes
