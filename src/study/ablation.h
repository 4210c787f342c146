// The low-bit ablation of the study: what each method adds, one step at a time, at W8A8, W6A8, W4A8 and
// W4A4. Every step keeps the previous step's choices and adds one:
//   naive          per-tensor MinMax weights, round to nearest
//   per-channel    one weight scale per output channel (MinMax)
//   +MSE ranges    per-channel weight ranges minimising ‖W − Q(W)‖² (weight_quantizer.h)
//   +CLE           cross-layer equalization (cle.h) before calibration
//   +bias corr.    empirical bias correction on the quantized network's inputs (bias_correction.h)
//   +AdaRound      learned rounding (adaround.h)
// The activations are the same in every step of one width: uint8, MSE clipping, raw pixels exact, and
// below 8 bits the activation choices of low-bit `best` (use_low_bit_activations). The steps
// are ordinary study configurations (group "ablation", variant = step key), so they share the study's
// jobs, calibration pool and --resume; the functions below turn the results back into the table.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "study/study.h"

namespace tinyptq {

struct AblationStep {
  std::string key;    // stable: naive, per-channel, mse, cle, bias-correction, adaround
  std::string label;  // table header
};

// The steps in order.
const std::vector<AblationStep>& ablation_steps();
// The recipe of step `step` (index into ablation_steps()) at wbits/abits. quick (--quick studies): 200
// AdaRound iterations instead of 1000, and activation ranges observed on the quantized network instead of
// searched (act_range_search.h costs ~10x more).
QuantRecipe ablation_recipe(size_t step, int wbits, int abits, bool quick);
// The study configurations: every step at every width (W8A8, W6A8, W4A8, W4A4); --quick: W4A8 and W4A4
// only, on 250 calibration images (25 per class) instead of the study's set.
std::vector<StudyConfig> ablation_configs(const StudyOptions& opts);

// One width's results: accuracy and agreement per step (NaN where missing).
struct AblationRow {
  int wbits = 8, abits = 8;
  std::vector<double> accuracy, agreement;  // per ablation_steps() entry
};
std::vector<AblationRow> ablation_rows(const StudyResults& r);  // empty when the study ran no ablation

// results.json "ablation", the REPORT.md section and the report.html chart ("" when there is no ablation).
nlohmann::ordered_json ablation_json(const StudyResults& r);
std::string ablation_markdown(const StudyResults& r);
std::string ablation_svg(const StudyResults& r);

}  // namespace tinyptq
