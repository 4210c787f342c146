// One pass over an observer's batch: exact min and max, and the check that every value is finite. Shared
// by every observer; the batch (a whole activation tensor over the calibration images) is far larger than
// the caches, so the scan is bandwidth bound and runs once.
#pragma once
#include <span>
#include <string>

namespace tinyptq {

struct BatchRange {
  float lo = 0, hi = 0;
};

// Exact min and max of a non-empty batch (the values a scalar scan finds). Throws Error
// "observer OWNER: value I of the batch is NaN|Inf" naming the first non-finite value.
BatchRange scan_finite_range(std::span<const float> values, const std::string& owner);

}  // namespace tinyptq
