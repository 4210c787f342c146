// Evaluation against a reference model (typically a quantized model against its FP32 original) on any
// DataSource, labels or not: both engines run the same preprocessed batches, and the outputs are compared
// by FidelityAccumulator (top-1 agreement, SQNR, cosine, max abs error, per-output MSE).
#pragma once
#include <string>
#include <vector>

#include "data/data_source.h"
#include "eval/evaluate.h"
#include "eval/fidelity.h"

namespace tinyptq {

struct ReferenceResult {
  FidelityResult fidelity;
  std::vector<int> predicted, reference_predicted;  // top-1 of output 0, per sample in source order
  std::string backend, reference_backend;
  double images_per_second = 0;  // the model's engine time only
};

// output_names: the models' output names, for per-output MSE (empty: "output_K").
ReferenceResult evaluate_against_reference(Engine& model, Engine& reference, const DataSource& s,
                                           const EvalOptions& opts, std::vector<std::string> output_names = {});

}  // namespace tinyptq
