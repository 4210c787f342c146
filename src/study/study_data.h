// The study's data, in any format: a calibration source (CIFAR-10's train split, or --calib-data, or --data
// itself) and an evaluation source (CIFAR-10's test split, or --data), both DataSources in the model's layout
// with the same preprocessing. The FP32 outputs on the evaluation source are kept, so every configuration is
// also measured by output fidelity (SQNR, cosine) against FP32, labels or not.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/calibration.h"
#include "data/data_source.h"
#include "eval/evaluate.h"
#include "eval/fidelity.h"
#include "ir/graph.h"
#include "study/study_plan.h"

namespace tinyptq {

struct StudyData {
  std::shared_ptr<const DataSource> calib, test;
  bool cifar = false;      // CIFAR-10 directory: calibration from its train split, evaluation on its test split
  bool labelled = false;   // the evaluation source has labels; without them, accuracy is agreement with FP32
  bool calib_is_test = false;  // --calib-data not given for non-CIFAR data: calibration draws from --data
  std::string format;          // data_format_name of --data
};

// Opens (and validates against the model) both sources. Error naming the file for anything that does not fit.
StudyData open_study_data(const StudyOptions& opts, const Graph& model);

// Samples drawn for a per-class size: per_class of each class with labels (for non-CIFAR data at most the
// smallest class's count, so every sweep size runs); without labels, per_class × 10 from the whole calibration
// source (the count a 10-class set would draw), all of them when it holds fewer.
CalibrationSet study_calibration_draw(const StudyData& d, int per_class, uint64_t seed);

// One model's run over the evaluation source: accuracy (against the labels, or against fp32_top1 when there are
// none), and fidelity against fp32_outputs (per batch, as run_source batches them; empty: not measured).
struct StudyEval {
  EvalResult eval;
  FidelityResult fidelity;
  std::vector<std::vector<Tensor>> outputs;  // per batch, only when keep_outputs
};
StudyEval evaluate_on(const StudyData& d, Engine& engine, const EvalOptions& opts,
                      const std::vector<std::vector<Tensor>>* fp32_outputs, const std::vector<int>* fp32_top1,
                      bool keep_outputs);

}  // namespace tinyptq
