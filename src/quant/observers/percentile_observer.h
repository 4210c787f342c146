// Percentile calibration on a histogram (ORT HistogramCollector 'percentile' semantics):
//   symmetric:  t = the p-th percentile of |x|;  range [-t, t]
//   otherwise:  cut (100 − p)/2 % on each side;  range [P_{(100−p)/2}, P_{100−(100−p)/2}] of x
// both clipped to the observed [min, max]. Percentiles interpolate linearly inside the bin that crosses
// the target mass (ORT takes that bin's left edge), so the error is below one bin width, 2·T/num_bins.
#pragma once
#include "quant/observers/histogram.h"
#include "quant/observers/observer.h"

namespace tinyptq {

class PercentileObserver : public Observer {
 public:
  explicit PercentileObserver(const ObserverOptions& options);
  void observe(std::span<const float> values) override { hist_.add(values); }
  int histogram_bins() const override { return hist_.bins(); }
  void adopt_histogram(const SplitHistogram& h) override { hist_.assign_counts(h); }
  Range range() const override;
  const char* name() const override { return "percentile"; }

 private:
  bool symmetric_;
  double percentile_;
  SplitHistogram hist_;
};

// The value below which a fraction q ∈ [0, 1] of the mass lies, interpolating inside bins. counts[j]
// covers [origin + j·width, origin + (j+1)·width). Used by the percentile observer and its tests.
double histogram_quantile(const std::vector<int64_t>& counts, double origin, double width, double q);

}  // namespace tinyptq
