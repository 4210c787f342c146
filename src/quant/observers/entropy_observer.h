// Entropy (KL-divergence) calibration, as TensorRT's legacy int8 calibrator and ORT's HistogramCollector
// 'entropy': choose the clipping threshold t whose quantized histogram loses the least information.
// For each candidate window of the histogram:
//   p = window counts, with the mass outside the window folded into its edge bins (clipping);
//   q = the window merged into num_quantized_bins groups (the last group takes the remainder bins), each
//       group's count spread evenly over the bins where p is non-zero;
//   KL(p‖q) = Σ P log(P/Q) over normalized p, q (+∞ if q misses mass of p).
// The window with the smallest KL wins (first on ties).
//   non-negative data (min ≥ 0): one-sided, windows [0, i·w), i = num_quantized_bins … num_bins,
//       range [min, t] (TensorRT's layout for post-ReLU activations);
//   otherwise: two-sided, windows [−i·w, i·w), 2i ≥ num_quantized_bins, range [−t, t];
// clipped to the observed [min, max]. The histogram grows by exact re-binning (histogram.h), so the result
// does not depend on the batch split. Unlike ORT we keep the MXNet handling of the remainder bins and use
// no ε-smoothing; the symmetric option does not change the search (ORT's entropy ignores it too).
#pragma once
#include "quant/observers/histogram.h"
#include "quant/observers/observer.h"

namespace tinyptq {

class EntropyObserver : public Observer {
 public:
  explicit EntropyObserver(const ObserverOptions& options);
  void observe(std::span<const float> values) override { hist_.add(values); }
  int histogram_bins() const override { return hist_.bins(); }
  void adopt_histogram(const SplitHistogram& h) override { hist_.assign_counts(h); }
  Range range() const override;
  const char* name() const override { return "entropy"; }

 private:
  int num_quantized_bins_;
  SplitHistogram hist_;
};

}  // namespace tinyptq
