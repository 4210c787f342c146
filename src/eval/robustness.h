// Does a quantized model's agreement with its FP32 reference hold off the test images it was measured on?
// Agreement (same top-1) on the test split, on held-out training images that were not in the calibration
// set, and on degraded copies of the test split (data/degrade.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/calibration.h"
#include "data/degrade.h"
#include "eval/evaluate.h"

namespace tinyptq {

// JPEG quality 75; brightness ±0.08 (±20 of 255); contrast ×0.8 and ×1.2.
std::vector<DegradeSpec> default_degradations();

struct RobustnessOptions {
  CalibrationSet calibration;       // the images the model was calibrated on: excluded from the held-out set
  int heldout_per_class = 500;      // held-out training images per class (0: no held-out row)
  std::vector<DegradeSpec> degradations = default_degradations();
  EvalOptions eval;                 // preprocessing, batch, threads; shared by both models
};

struct RobustnessRow {
  std::string set;                  // "test", "held-out train", or the degradation's name
  int64_t images = 0, agree = 0;
  double agreement = 0;             // percent
  double agreement_lo = 0, agreement_hi = 100;  // 95 % Wilson score interval of agree / images, percent
  double reference_accuracy = 0, quantized_accuracy = 0;  // percent, against the labels
};

// One row per set, in the order: test, held-out train, then options.degradations.
std::vector<RobustnessRow> measure_robustness(Engine& quantized, Engine& reference, Layout layout,
                                              const Dataset& train, const Dataset& test,
                                              const RobustnessOptions& options);

// The images of d at `indices`, in that order (labels and class names kept).
Dataset select_images(const Dataset& d, const std::vector<int64_t>& indices);

}  // namespace tinyptq
