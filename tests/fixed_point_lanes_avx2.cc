// fixed_point_lanes.h on 8 lanes.
#include <immintrin.h>

#include "fixed_point_lanes.h"
#include "kernels/int8/avx2/fixed_point_avx2.h"
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::lanes {
namespace {

using namespace ymm_fixed;

__m256i load(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
void store(int32_t* p, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }

void mbqm_lanes(const int32_t* v, FixedPointMultiplier m, int32_t* out, int64_t n) {
  const __m256i mult = _mm256_set1_epi32(m.multiplier), e = _mm256_set1_epi32(-m.shift);
  for (int64_t i = 0; i < n; i += 8) store(out + i, mbqm(load(v + i), mult, e));
}

void mbqm_add_input_lanes(const int32_t* d, FixedPointMultiplier m, int32_t* out, int64_t n) {
  constexpr int kSplit = 31 - kAddLeftShift;
  const __m256i mh = _mm256_set1_epi32(m.multiplier >> kSplit);
  const __m256i ml = _mm256_set1_epi32(m.multiplier & ((1 << kSplit) - 1));
  const __m256i e = _mm256_set1_epi32(-m.shift);
  for (int64_t i = 0; i < n; i += 8) store(out + i, mbqm_shifted_small<kSplit>(load(d + i), mh, ml, e));
}

void rounded_average_lanes(const int32_t* s, int32_t divisor, int32_t* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) store(out + i, rounded_average(load(s + i), divisor));
}

}  // namespace

const Helpers kAvx2 = {"avx2", mbqm_lanes, mbqm_add_input_lanes, rounded_average_lanes};

}  // namespace tinyptq::int8::lanes
