// Per-layer weight-quantization sensitivity, measured on held-out images (training images outside the
// calibration set — never the test set). For every layer with weights and every candidate bit width,
// only that layer's weight is quantized (the recipe's method: MSE/MinMax ranges, AdaRound on its FP32
// input if the recipe asks, bias correction if on); every other layer and every activation stays float.
// The network output is compared with FP32 on the held-out images:
//   agreement = % of images with the FP32 top-1, KL = mean KL(p_fp32 ‖ p_q) in nats (p = softmax of the
//   output unless the output already is a Softmax), SQNR of the output in dB.
// Only the part of the network downstream of the layer is re-run (from cached FP32 values).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/calibration.h"
#include "data/cifar.h"
#include "quant/quantizer.h"

namespace tinyptq {

// Held-out images and the FP32 model's output on them.
struct ProxySet {
  Tensor inputs;          // [M, ...] in the model's input layout
  Tensor probabilities;   // FP32 [M, classes]
  Tensor output;          // FP32 graph output as produced [M, classes]
  std::vector<int> top1;  // FP32 top-1 per image
};

// Runs the prepared float graph of calib (cross-layer equalized or not: the function is the same) on the
// inputs. Throws Error if the graph output is not [M, classes].
ProxySet make_proxy_set(const Calibration& calib, Tensor inputs, int threads = 2);

// The first per_class images of every class (ascending index) that are not in the calibration set.
// Throws Error if a class has too few such images.
std::vector<int64_t> heldout_indices(const Dataset& d, const CalibrationSet& calibration, int per_class);

struct ProxyMetrics {
  double agreement = 0;  // percent
  double kl = 0;         // nats per image
  double sqnr_db = 0;
};

// Metrics of an output (same shape as set.output, produced by a graph with the same output op).
ProxyMetrics proxy_metrics(const ProxySet& set, const Tensor& output, bool output_is_probability);
// Metrics of a model (float or QDQ graph, run by the FP32 engine; QDQ as float simulation).
ProxyMetrics evaluate_proxy(const Graph& model, const ProxySet& set);

struct BitsResult {
  int bits = 0;
  ProxyMetrics metrics;
};

struct LayerSensitivity {
  std::string layer;
  int64_t weights = 0;  // number of weights (bias excluded)
  std::vector<BitsResult> results;  // one per candidate bit width, ascending
};

struct SensitivityOptions {
  std::vector<int> bits = {2, 3, 4, 5, 6, 7, 8};  // candidate weight bit widths, each in 2..8
  bool progress = true;
};

// One entry per layer with weights, in topological order. The recipe decides the weight method
// (weight_method, per_channel, weight format, adaround + its hyper-parameters, bias_correction).
std::vector<LayerSensitivity> layer_sensitivity(const Calibration& calib, const ProxySet& proxy,
                                                const QuantRecipe& recipe, const SensitivityOptions& options = {});

}  // namespace tinyptq
