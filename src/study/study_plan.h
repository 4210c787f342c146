// What a study runs: the list of configurations, each a named recipe on a calibration set. Names are
// stable keys ("group/..."): results.json, results.csv and --resume are keyed by them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "quant/recipe.h"

namespace tinyptq {

struct StudyOptions {
  std::string model, data, out_dir;
  // Non-CIFAR data (docs/data.md): --data's format and labels, and an optional separate calibration source.
  std::string data_format = "auto", labels;
  std::string calib_data, calib_data_format = "auto", calib_labels;
  int jobs = 2;
  bool quick = false;
  bool resume = false;
  uint64_t seed = 0;
  int calib_per_class = 100;  // the shared calibration set
  int64_t test_limit = 0;     // evaluate on the first N test images only (0: all)
  std::string preprocess = "raw";
};

struct StudyConfig {
  std::string name;   // unique key
  std::string group;  // preset | matrix | calibration | bits | layer | ablation
  std::string label;  // short human label within its group
  QuantRecipe recipe;
  int calib_per_class = 100;
  uint64_t calib_seed = 0;
  bool save_model = false;  // write OUTDIR/models/<name>.onnx
  // Group-specific coordinates (for sweeps and charts).
  int wbits = 8, abits = 8;
  std::string variant;  // bits: naive|best; layer: only|except; ablation: step name
  std::string layer;    // layer group: the layer's node name
};

// AdaRound budget of the bits and layer sweeps (configurations whose recipe uses AdaRound): calibration
// images per class and iterations per layer.
constexpr int kSweepCalibPerClass = 13;
constexpr int kSweepAdaRoundIterations = 150;
constexpr int kQuickAdaRoundIterations = 100;

// The plan for a model whose quantizable weight layers are `layers` (node names, graph order).
std::vector<StudyConfig> study_plan(const StudyOptions& opts, const std::vector<std::string>& layers);

// The two recipes of the bit-width sweep: naive (per-tensor MinMax, round to nearest, as the reference
// project's sweep) and best (tinyptq's recipe at that width).
QuantRecipe naive_recipe(int wbits, int abits);
QuantRecipe best_recipe(int wbits, int abits);

}  // namespace tinyptq
