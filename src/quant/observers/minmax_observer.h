// MinMax calibration: the exact [min, max] over all batches (ORT MinMaxCalibrater, PyTorch MinMaxObserver).
// moving_average: per-batch min/max folded in as an exponential moving average,
//   min ← min + c·(batch_min − min)  (first batch sets it), as ORT's merge_range / PyTorch's
//   MovingAverageMinMaxObserver — this one depends on batch boundaries by design.
// symmetric: [-a, a] with a = max(|min|, |max|).
#pragma once
#include "quant/observers/observer.h"

namespace tinyptq {

class MinMaxObserver : public Observer {
 public:
  explicit MinMaxObserver(const ObserverOptions& options);
  void observe(std::span<const float> values) override;
  Range range() const override;
  const char* name() const override { return "minmax"; }

 private:
  bool symmetric_, moving_average_;
  double averaging_constant_;
  bool seen_ = false;
  double min_ = 0.0, max_ = 0.0;  // double so the moving average does not drift in float
};

}  // namespace tinyptq
