#include "quant/observers/minmax_observer.h"

#include <algorithm>
#include <cmath>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/error.h"

namespace tinyptq {

MinMaxObserver::MinMaxObserver(const ObserverOptions& options)
    : symmetric_(options.symmetric || options.format.symmetric),
      moving_average_(options.moving_average),
      averaging_constant_(options.averaging_constant) {
  check_observer_options(options);
}

namespace {

// Exact min and max of a non-empty batch, and whether it holds a NaN. One pass: the batch (a whole
// activation tensor over the calibration images) is far larger than the caches, so this is bandwidth bound.
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

void MinMaxObserver::observe(std::span<const float> values) {
  if (values.empty()) return;
  const auto [lo, hi, nan] = scan(values);
  if (nan || !std::isfinite(lo) || !std::isfinite(hi)) {  // locate the offending value only now
    for (size_t i = 0; i < values.size(); ++i)
      if (!std::isfinite(values[i]))
        throw Error(std::string("observer minmax: value ") + std::to_string(i) + " of the batch is " +
                    (std::isnan(values[i]) ? "NaN" : "Inf"));
  }
  if (!seen_) {
    min_ = lo;
    max_ = hi;
  } else if (moving_average_) {
    min_ += averaging_constant_ * (double(lo) - min_);
    max_ += averaging_constant_ * (double(hi) - max_);
  } else {
    min_ = std::min(min_, double(lo));
    max_ = std::max(max_, double(hi));
  }
  seen_ = true;
}

Range MinMaxObserver::range() const {
  check(seen_, "observer minmax: range() requested before any value was observed");
  const auto lo = static_cast<float>(min_), hi = static_cast<float>(max_);
  if (symmetric_) {
    const float a = std::max(std::fabs(lo), std::fabs(hi));
    return {-a, a};
  }
  return {lo, hi};
}

}  // namespace tinyptq
