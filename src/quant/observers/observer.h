// Calibration observers: one class per method behind one small interface. An observer sees batches of
// float values (one tensor's activations, or one weight channel) and then proposes a clipping range,
// which qparams_from_range turns into scale / zero point for the target format.
//
// Contract shared by every observer:
//  * observe() throws Error on NaN/Inf and then leaves the observer unchanged; empty batches are no-ops.
//  * range() throws Error if no value has been observed; otherwise min ≤ 0 ≤ max is NOT guaranteed
//    (qparams widens to include 0) but min ≤ max and both are finite.
//  * Deterministic. Without moving_average, every method returns the bitwise same range however the
//    values are split into batches (min/max are exact; histograms live on a power-of-two grid, see
//    histogram.h).
//  * observe() is one O(n) scan plus one O(n) binning pass with fixed memory.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "quant/formats.h"
#include "quant/observers/histogram.h"

namespace tinyptq {

struct Range {
  float min;
  float max;
};

class Observer {
 public:
  virtual ~Observer() = default;
  virtual void observe(std::span<const float> values) = 0;
  virtual Range range() const = 0;
  virtual const char* name() const = 0;
  // Histogram methods: the bins per sign of their SplitHistogram (0 for the others). A fresh observer
  // with histogram_bins() == h.bins() may adopt_histogram(h) instead of observing the values h was built
  // from: the histogram is batch-invariant (histogram.h), so range() is bitwise the same.
  virtual int histogram_bins() const { return 0; }
  virtual void adopt_histogram(const SplitHistogram& h);  // Error unless fresh and of histogram_bins()
};

enum class Method { kMinMax, kEntropy, kPercentile, kMse };

struct ObserverOptions {
  Method method = Method::kMinMax;
  QuantFormat format;            // the format the range is for (MSE searches with its bits and code range)
  bool symmetric = false;        // symmetric variants (also implied by format.symmetric): MinMax → [-a, a],
                                 // percentile of |x|, MSE searches a symmetric clipping threshold
  double percentile = 99.999;    // percentile method, in (0, 100]
  int num_bins = 2048;           // histogram bins per sign, a power of two in [16, 65536]
  int num_quantized_bins = 128;  // entropy method: quantized bins of the candidate window, in [2, num_bins]
  bool moving_average = false;   // MinMax only: exponential moving average of per-batch min/max
  double averaging_constant = 0.01;  // weight of the newest batch, in (0, 1]
};

// Throws Error naming the bad field.
void check_observer_options(const ObserverOptions& options);
// A new observer for options.method; validates options.
std::unique_ptr<Observer> make_observer(const ObserverOptions& options);

// "minmax", "entropy", "percentile", "mse" and back (nullopt for unknown names).
const char* method_name(Method m);
std::optional<Method> method_from_name(const std::string& name);

// Per-channel ranges of a weight viewed as [outer, channels, inner] (row-major; outer =
// size/(channels·inner)), each channel observed by its own observer of method m for format f (symmetric as
// f.symmetric). Meant for MinMax and MSE; the histogram methods work too. Throws Error on a size that does
// not split, no values, or NaN/Inf (naming the channel).
std::vector<Range> channel_ranges(std::span<const float> w, int64_t channels, int64_t inner, Method m,
                                  const QuantFormat& f);

}  // namespace tinyptq
