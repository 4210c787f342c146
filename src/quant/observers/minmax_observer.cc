#include "quant/observers/minmax_observer.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "quant/observers/batch_scan.h"

namespace tinyptq {

MinMaxObserver::MinMaxObserver(const ObserverOptions& options)
    : symmetric_(options.symmetric || options.format.symmetric),
      moving_average_(options.moving_average),
      averaging_constant_(options.averaging_constant) {
  check_observer_options(options);
}

void MinMaxObserver::observe(std::span<const float> values) {
  if (values.empty()) return;
  const auto [lo, hi] = scan_finite_range(values, "minmax");
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
