// Static post-training quantization, end to end: prepare the float graph, calibrate activations on
// the calibration images, quantize weights (round-to-nearest or AdaRound), correct biases, rewrite to
// QDQ and report per-layer ranges, params and SQNR.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "quant/activation_cache.h"
#include "quant/observers/histogram.h"
#include "quant/qdq_rewrite.h"
#include "quant/recipe.h"

namespace tinyptq {

// The prepared float graph and its FP32 activations on one calibration set. Recipes that do not
// change the float graph (all but cross-layer equalization) share one Calibration.
class Calibration {
 public:
  // inputs: calibration images, batch-first in the model's input layout. cle: apply cross-layer
  // equalization to the prepared graph before collecting activations.
  Calibration(const Graph& model, Tensor inputs, bool cle = false);
  const Graph& graph() const { return graph_; }
  const ActivationCache& cache() const { return cache_; }
  const Tensor& inputs() const { return inputs_; }
  bool cle() const { return cle_; }
  const QuantPlan& default_plan() const { return plan_; }
  // The histogram (bins per sign) of cached FP32 value v, built on first use and kept: every recipe
  // with a histogram method on this calibration reads the same one. Thread-safe. owner names the observer
  // in a build error (NaN/Inf), which is not kept.
  const SplitHistogram& fp32_histogram(const std::string& v, int bins, const std::string& owner) const;

 private:
  Graph graph_;
  Tensor inputs_;
  bool cle_;
  QuantPlan plan_;
  ActivationCache cache_;
  mutable std::mutex histograms_mutex_;
  mutable std::map<std::pair<std::string, int>, std::unique_ptr<SplitHistogram>> histograms_;
};

struct LayerReport {
  std::string node, op, value;  // layer, op type, quantized output value
  float min = 0, max = 0;       // calibrated output range
  float scale = 0;
  int32_t zero_point = 0;
  int wbits = 0, abits = 0;        // wbits 0 for layers without weights
  std::string weight_granularity;  // "per-channel", "per-tensor" or ""
  double sqnr_db = 0;              // output vs FP32 on the SQNR images (cumulative through the network)
};

struct QuantizeOptions {
  int64_t sqnr_images = 128;  // 0 disables the SQNR pass
};

struct QuantizeResult {
  QdqModel model;
  QuantPlan plan;
  std::vector<LayerReport> layers;
  double seconds = 0;  // quantize time (excluding the shared FP32 calibration pass)
};

QuantizeResult quantize(const Calibration& calib, const QuantRecipe& recipe,
                        const QuantizeOptions& opts = {});

}  // namespace tinyptq
