#include "quant/observers/observer.h"

#include <cmath>

#include "core/error.h"
#include "quant/observers/entropy_observer.h"
#include "quant/observers/histogram.h"
#include "quant/observers/minmax_observer.h"
#include "quant/observers/mse_observer.h"
#include "quant/observers/percentile_observer.h"

namespace tinyptq {
namespace {

struct MethodRow {
  Method method;
  const char* name;
};
constexpr MethodRow kMethods[] = {
    {Method::kMinMax, "minmax"},
    {Method::kEntropy, "entropy"},
    {Method::kPercentile, "percentile"},
    {Method::kMse, "mse"},
};

}  // namespace

void Observer::adopt_histogram(const SplitHistogram&) {
  throw Error(std::string("observer ") + name() + ": internal: this method does not work from a histogram");
}

const char* method_name(Method m) {
  for (const MethodRow& row : kMethods) {
    if (row.method == m) return row.name;
  }
  throw Error("observer: unknown method value " + std::to_string(static_cast<int>(m)));
}

std::optional<Method> method_from_name(const std::string& name) {
  for (const MethodRow& row : kMethods) {
    if (name == row.name) return row.method;
  }
  return std::nullopt;
}

void check_observer_options(const ObserverOptions& o) {
  const std::string who = std::string("observer ") + method_name(o.method) + ": ";
  check_format(o.format);
  if (!(std::isfinite(o.percentile) && o.percentile > 0.0 && o.percentile <= 100.0)) {
    throw Error(who + "percentile must be in (0, 100], got " + std::to_string(o.percentile));
  }
  if (!(o.num_bins >= SplitHistogram::kMinBins && o.num_bins <= SplitHistogram::kMaxBins &&
        (o.num_bins & (o.num_bins - 1)) == 0)) {
    throw Error(who + "num_bins must be a power of two in [" + std::to_string(SplitHistogram::kMinBins) +
                ", " + std::to_string(SplitHistogram::kMaxBins) + "], got " + std::to_string(o.num_bins));
  }
  if (!(o.num_quantized_bins >= 2 && o.num_quantized_bins <= o.num_bins)) {
    throw Error(who + "num_quantized_bins must be in [2, num_bins], got " +
                std::to_string(o.num_quantized_bins));
  }
  if (o.moving_average && o.method != Method::kMinMax) {
    throw Error(who + "moving_average applies to minmax only");
  }
  if (!(std::isfinite(o.averaging_constant) && o.averaging_constant > 0.0 && o.averaging_constant <= 1.0)) {
    throw Error(who + "averaging_constant must be in (0, 1], got " + std::to_string(o.averaging_constant));
  }
}

std::unique_ptr<Observer> make_observer(const ObserverOptions& options) {
  check_observer_options(options);
  switch (options.method) {
    case Method::kMinMax:
      return std::make_unique<MinMaxObserver>(options);
    case Method::kEntropy:
      return std::make_unique<EntropyObserver>(options);
    case Method::kPercentile:
      return std::make_unique<PercentileObserver>(options);
    case Method::kMse:
      return std::make_unique<MseObserver>(options);
  }
  throw Error("observer: unknown method value " + std::to_string(static_cast<int>(options.method)));
}

std::vector<Range> channel_ranges(std::span<const float> w, int64_t channels, int64_t inner, Method m,
                                  const QuantFormat& f) {
  const int64_t size = static_cast<int64_t>(w.size());
  if (channels < 1 || inner < 1) {
    throw Error("channel ranges: channels and inner must be >= 1, got " + std::to_string(channels) + " and " +
                std::to_string(inner));
  }
  if (size == 0) throw Error("channel ranges: the weight is empty");
  if (!(channels <= size && inner <= size / channels && size % (channels * inner) == 0)) {
    throw Error("channel ranges: " + std::to_string(size) + " values do not split into [outer, " +
                std::to_string(channels) + ", " + std::to_string(inner) + "]");
  }
  const int64_t outer = size / (channels * inner);
  ObserverOptions options;
  options.method = m;
  options.format = f;
  options.symmetric = f.symmetric;

  std::vector<Range> ranges;
  ranges.reserve(static_cast<size_t>(channels));
  std::vector<float> values(static_cast<size_t>(outer * inner));
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t o = 0; o < outer; ++o) {
      const float* row = w.data() + (o * channels + c) * inner;
      std::copy(row, row + inner, values.begin() + o * inner);
    }
    try {
      std::unique_ptr<Observer> obs = make_observer(options);
      obs->observe(values);
      ranges.push_back(obs->range());
    } catch (const Error& e) {
      throw Error("channel " + std::to_string(c) + ": " + e.what());
    }
  }
  return ranges;
}

}  // namespace tinyptq
