// FP32 activations of the calibration images at the quantization points, stacked along the batch
// axis. Collected once (one FP32 pass) and shared by every recipe that calibrates on the same images.
#pragma once
#include <map>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace tinyptq {

struct ActivationCache {
  int64_t images = 0;
  std::map<std::string, Tensor> values;  // value name → [images, ...]

  const Tensor& at(const std::string& value) const;  // Error if absent
  // Rows [first, first+count) of a cached value as a flat span (count·per-image elements).
  std::span<const float> rows(const std::string& value, int64_t first, int64_t count) const;
};

// Runs the float graph over `inputs` (batch-first, in the graph's input layout) in batches of
// `batch_size` and keeps the listed values. Throws Error on an empty set or NaN/Inf activations.
ActivationCache collect_activations(const Graph& g, const Tensor& inputs,
                                    const std::vector<std::string>& values, int64_t batch_size = 100);

// Rows [first, first+count) of a batch-first tensor as a new tensor.
Tensor slice_batch(const Tensor& t, int64_t first, int64_t count);

}  // namespace tinyptq
