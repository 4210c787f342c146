// Derived views of study results, shared by REPORT.md, report.html and results.json's "summary":
// the comparison rows, calibration-size statistics, the bits × bits grids, per-layer sensitivity, and
// the recommendation (picked from the data, never hard-coded).
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "stats/statistics.h"
#include "study/study.h"

namespace tinyptq {

struct CalibrationPoint {
  int images = 0;
  double mean = 0, min = 0, max = 0, stddev = 0;  // accuracy over seeds, percent
  int seeds = 0;
};

struct BitsGrid {
  std::string variant;          // naive | best
  std::vector<int> wbits, abits;  // row and column values
  std::vector<std::vector<double>> accuracy;  // [w][a], NaN where missing
};

struct LayerSensitivity {
  std::string layer;
  double only = NAN;    // accuracy with only this layer quantized
  double except = NAN;  // accuracy with every layer but this one quantized
};

// A configuration's accuracy and FP32 agreement with 95% Wilson intervals, and the exact McNemar test of
// its per-image correctness against FP32's (b = FP32 right and this wrong, c = the reverse).
struct ConfigStats {
  stats::Interval accuracy_ci, agreement_ci;  // fractions
  stats::McNemar vs_fp32;
  bool significant = false;  // vs_fp32.p < stats::kAlpha: the delta is outside the noise
};

// Per-image top-1 correctness of a configuration, rebuilt from FP32's predictions and its flipped images.
std::vector<bool> correctness(const Fp32Baseline& fp32, const ConfigResult& c);
std::vector<bool> correctness(const Fp32Baseline& fp32);
ConfigStats config_stats(const Fp32Baseline& fp32, const ConfigResult& c);

struct Recommendation {
  // The recommended configuration: among those whose accuracy is not significantly different from the
  // most accurate one (exact McNemar, p >= 0.05), the highest FP32 agreement, then the smallest packed
  // weights, then the smallest file, then the fastest (timing); `reason` says which rule decided.
  const ConfigResult* recommended = nullptr;
  std::string reason;
  int indistinguishable = 0;  // candidates not significantly different from best_accuracy (itself included)
  const ConfigResult* best_accuracy = nullptr;     // highest accuracy (ties: agreement, then smaller)
  const ConfigResult* best_compression = nullptr;  // smallest packed weights within 1 pp of FP32
  const ConfigResult* best_speed = nullptr;        // fastest integer engine within 1 pp of FP32 (timing)
};

std::vector<const ConfigResult*> group_results(const StudyResults& r, const std::string& group);
std::vector<CalibrationPoint> calibration_curve(const StudyResults& r);
std::vector<BitsGrid> bits_grids(const StudyResults& r);
std::vector<LayerSensitivity> layer_sensitivity(const StudyResults& r);
Recommendation recommend(const StudyResults& r);
nlohmann::ordered_json summary_json(const StudyResults& r);  // deterministic parts only

// One line under the observer matrix: why its activation int8/uint8 axis cannot change a number.
inline constexpr const char* kMatrixTypeNote =
    "An asymmetric int8 activation grid is the uint8 grid shifted by 128 (same scale, zero point - 128), so the activation int8/uint8 columns give identical results by construction; the type axis that changes numbers is the weights' (the int8 symmetric vs uint8 asymmetric presets above).";

// "W8 int8 per-channel / A8 uint8" style data-type string of a configuration.
std::string data_types(const ConfigResult& c);

// One sentence on what was evaluated and calibrated on (CIFAR-10 splits, or any data source), and one on
// what "accuracy" and "agreement" mean for this data (without labels, accuracy is agreement with FP32).
std::string data_sentence(const StudyResults& r);
std::string accuracy_sentence(const StudyResults& r);
// "inf" for identical outputs, else %.1f.
std::string sqnr_text(double db);

}  // namespace tinyptq
