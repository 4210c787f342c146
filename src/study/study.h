// tinyptq study: the whole PTQ comparison on one calibration lockfile — FP32 baseline, presets,
// observer × granularity × type matrix, calibration-size sensitivity, bits × bits sweep, per-layer
// sensitivity — written as results.json, results.csv, REPORT.md and report.html in OUTDIR.
#pragma once
#include <string>
#include <vector>

#include "study/study_plan.h"
#include "study/study_result.h"

namespace tinyptq {

struct Fp32Baseline {
  std::string model_path;
  int64_t correct = 0, total = 0;
  double accuracy = 0;
  std::vector<std::string> class_names;
  std::vector<double> per_class_accuracy;
  std::vector<int> labels, predicted;  // per test image
  int64_t model_bytes = 0, parameters = 0;
  int64_t packed_weight_bytes = 0;  // Conv/Gemm weights at 32 bits
  double images_per_second = 0;  // timing
};

// One stage of the study and its wall time. Configuration groups run interleaved on --jobs threads, so
// their rows are the summed quantize + evaluate time of the group's configurations (thread seconds).
struct StageTime {
  std::string name;
  double seconds = 0;
  bool thread_seconds = false;  // summed over jobs rather than wall
};

struct StudyResults {
  StudyOptions options;
  Fp32Baseline fp32;
  std::vector<ConfigResult> configs;  // plan order
  double wall_seconds = 0;            // timing
  std::vector<StageTime> stages;      // timing, in run order
  bool cifar = true;          // a CIFAR-10 directory (train split calibrates, test split evaluates)
  bool labelled = true;       // false: accuracy is top-1 agreement with FP32 (the data has no labels)
  bool calib_is_test = false;  // calibration drawn from the evaluation data (no --calib-data)
  int64_t calib_images = 0;    // the shared calibration set's size
};

// Runs (or, with --resume, completes) the study and writes the four output files. Returns the results.
StudyResults run_study(const StudyOptions& opts);

}  // namespace tinyptq
