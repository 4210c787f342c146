// The measured outcome of one study configuration, and its JSON form (results.json entries and the
// per-configuration files under OUTDIR/results.d/ that --resume reads back).
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "quant/quantizer.h"
#include "study/study_plan.h"

namespace tinyptq {

struct ConfigResult {
  std::string name, group, label, variant, layer, preset, recipe;
  int wbits = 8, abits = 8;
  std::string act_type, weight_type, granularity, act_method;
  int calib_images = 0;
  uint64_t calib_seed = 0;
  int64_t correct = 0, total = 0;
  double accuracy = 0, delta = 0, agreement = 0;  // percent, percentage points, percent
  // Output fidelity against FP32 over every test sample (eval/fidelity.h): SQNR in dB, mean cosine.
  double sqnr_db = 0, mean_cosine = 0;
  std::vector<double> per_class_accuracy, per_class_delta;
  std::vector<int64_t> flipped;                   // test images whose top-1 differs from FP32
  std::vector<int> flipped_predicted;             // this configuration's top-1 on those images (same order)
  int64_t model_bytes = 0;
  double size_reduction = 0;                      // FP32 bytes / model bytes
  // Weights packed at their bit widths (float weights at 32): what a sub-byte deployment stores, where
  // the ONNX model keeps 8-bit containers.
  int64_t packed_weight_bytes = 0;
  std::vector<LayerReport> layers;                // presets only
  // Timing (kept out of the deterministic part of results.json).
  double quantize_seconds = 0, images_per_second = 0;
};

nlohmann::ordered_json result_to_json(const ConfigResult& r, bool with_timing);
ConfigResult result_from_json(const nlohmann::json& j);  // Error on a malformed entry

}  // namespace tinyptq
