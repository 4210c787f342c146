#include "quant/observers/percentile_observer.h"

#include <algorithm>

#include "core/error.h"

namespace tinyptq {

double histogram_quantile(const std::vector<int64_t>& counts, double origin, double width, double q) {
  int64_t total = 0;
  for (const int64_t c : counts) total += c;
  if (total == 0) return origin;
  const double target = std::clamp(q, 0.0, 1.0) * double(total);
  size_t first = 0, last = counts.size() - 1;  // first and last non-empty bins
  while (counts[first] == 0) ++first;
  while (counts[last] == 0) --last;
  if (target <= 0.0) return origin + double(first) * width;
  double before = 0.0;
  for (size_t j = first; j <= last; ++j) {
    const double after = before + double(counts[j]);
    if (after >= target && counts[j] > 0) {
      return origin + width * (double(j) + (target - before) / double(counts[j]));
    }
    before = after;
  }
  return origin + double(last + 1) * width;
}

PercentileObserver::PercentileObserver(const ObserverOptions& options)
    : symmetric_(options.symmetric || options.format.symmetric),
      percentile_(options.percentile),
      hist_(options.num_bins, "percentile") {
  check_observer_options(options);
}

Range PercentileObserver::range() const {
  check(hist_.count() > 0, "observer percentile: range() requested before any value was observed");
  const float mn = hist_.min(), mx = hist_.max();
  if (hist_.top() == 0.0) return {mn, mx};  // all zeros
  const double w = hist_.bin_width();
  double lo, hi;
  if (symmetric_) {
    std::vector<int64_t> abs_counts(hist_.pos().begin(), hist_.pos().end());
    for (int i = 0; i < hist_.bins(); ++i) abs_counts[i] += hist_.neg()[i];
    const double t = histogram_quantile(abs_counts, 0.0, w, percentile_ / 100.0);
    lo = -t;
    hi = t;
  } else {
    const double cut = (100.0 - percentile_) / 200.0;  // fraction cut on each side
    const std::vector<int64_t> counts = hist_.signed_counts();
    lo = histogram_quantile(counts, -hist_.top(), w, cut);
    hi = histogram_quantile(counts, -hist_.top(), w, 1.0 - cut);
  }
  return {static_cast<float>(std::clamp<double>(lo, mn, mx)),
          static_cast<float>(std::clamp<double>(hi, mn, mx))};
}

}  // namespace tinyptq
