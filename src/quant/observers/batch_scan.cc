#include "quant/observers/batch_scan.h"

#include <cmath>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/error.h"

namespace tinyptq {

namespace {

// minps(v, lo) = v < lo ? v : lo, the scalar rule below, so the result is the same value as a scalar scan.
struct MinMax {
  float lo, hi;
  bool nan;
};

MinMax scan(std::span<const float> values) {
  size_t i = 0;
  float lo = values[0], hi = values[0];
  bool nan = false;
#if defined(__SSE2__)
  if (values.size() >= 16) {
    __m128 l0 = _mm_set1_ps(lo), l1 = l0, h0 = l0, h1 = l0;
    __m128 n0 = _mm_setzero_ps(), n1 = n0;
    for (; i + 8 <= values.size(); i += 8) {
      const __m128 a = _mm_loadu_ps(values.data() + i), b = _mm_loadu_ps(values.data() + i + 4);
      l0 = _mm_min_ps(a, l0), l1 = _mm_min_ps(b, l1);
      h0 = _mm_max_ps(a, h0), h1 = _mm_max_ps(b, h1);
      n0 = _mm_or_ps(n0, _mm_cmpunord_ps(a, a)), n1 = _mm_or_ps(n1, _mm_cmpunord_ps(b, b));
    }
    alignas(16) float ls[8], hs[8];
    _mm_store_ps(ls, l0), _mm_store_ps(ls + 4, l1), _mm_store_ps(hs, h0), _mm_store_ps(hs + 4, h1);
    for (int k = 0; k < 8; ++k) lo = ls[k] < lo ? ls[k] : lo, hi = hs[k] > hi ? hs[k] : hi;
    nan = _mm_movemask_ps(_mm_or_ps(n0, n1)) != 0;
  }
#endif
  for (; i < values.size(); ++i) {
    const float v = values[i];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    nan |= v != v;
  }
  return {lo, hi, nan};
}


}  // namespace

BatchRange scan_finite_range(std::span<const float> values, const std::string& owner) {
  const auto [lo, hi, nan] = scan(values);
  if (nan || !std::isfinite(lo) || !std::isfinite(hi)) {  // locate the offending value only now
    for (size_t i = 0; i < values.size(); ++i)
      if (!std::isfinite(values[i]))
        throw Error("observer " + owner + ": value " + std::to_string(i) + " of the batch is " +
                    (std::isnan(values[i]) ? "NaN" : "Inf"));
  }
  return {lo, hi};
}

}  // namespace tinyptq
