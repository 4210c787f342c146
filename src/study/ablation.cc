#include "study/ablation.h"

#include <algorithm>
#include <cmath>

#include "report/format.h"
#include "report/markdown.h"
#include "report/svg_chart.h"
#include "study/study_summary.h"

namespace tinyptq {

namespace {

struct Width {
  int wbits, abits;
};
constexpr Width kWidths[] = {{8, 8}, {6, 8}, {4, 8}, {4, 4}};
// --quick: fewer images and iterations, activation ranges observed on the quantized network instead of
// searched (the search costs ~10x more), only the 4-bit rows.
constexpr int kQuickAblationIterations = 200;
constexpr int kQuickCalibPerClass = 25;

std::string width_label(int w, int a) { return "W" + std::to_string(w) + "A" + std::to_string(a); }
std::string f2(double v) { return std::isnan(v) ? "" : report::format_number(v, "%.2f"); }

}  // namespace

const std::vector<AblationStep>& ablation_steps() {
  static const std::vector<AblationStep> steps = {{"naive", "naive (per-tensor, nearest)"},
                                                  {"per-channel", "per-channel"},
                                                  {"mse", "+MSE weight ranges"},
                                                  {"cle", "+CLE"},
                                                  {"bias-correction", "+bias correction"},
                                                  {"adaround", "+AdaRound"}};
  return steps;
}

QuantRecipe ablation_recipe(size_t step, int wbits, int abits, bool quick) {
  // Start from best at this width (its activation choices), strip every weight method, add them back.
  QuantRecipe r = preset_recipe("best", wbits, abits);
  r.preset = "ablation";
  r.per_channel = step >= 1;
  r.weight_method = step >= 2 ? Method::kMse : Method::kMinMax;
  r.cross_layer_equalization = step >= 3;
  r.bias_correction = step >= 4;
  r.quantized_inputs = true;  // bias correction and AdaRound see the quantized network's inputs
  r.adaround = step >= 5;
  if (quick) {
    r.adaround_iterations = kQuickAblationIterations;
    if (r.act_ranges == ActRanges::kOutputAware) r.act_ranges = ActRanges::kQuantized;
  }
  return r;
}

std::vector<StudyConfig> ablation_configs(const StudyOptions& opts) {
  std::vector<StudyConfig> out;
  for (const Width& w : kWidths) {
    if (opts.quick && w.wbits != 4) continue;  // --quick: the 4-bit rows only
    for (size_t s = 0; s < ablation_steps().size(); ++s) {
      StudyConfig c;
      if (opts.quick) c.calib_per_class = kQuickCalibPerClass;
      c.group = "ablation";
      c.variant = ablation_steps()[s].key;
      c.wbits = w.wbits;
      c.abits = w.abits;
      c.recipe = ablation_recipe(s, w.wbits, w.abits, opts.quick);
      c.label = width_label(w.wbits, w.abits) + " " + ablation_steps()[s].label;
      c.name = "ablation/" + c.variant + "-w" + std::to_string(w.wbits) + "a" + std::to_string(w.abits);
      out.push_back(std::move(c));
    }
  }
  return out;
}

std::vector<AblationRow> ablation_rows(const StudyResults& r) {
  std::vector<AblationRow> rows;
  const size_t steps = ablation_steps().size();
  for (const auto* c : group_results(r, "ablation")) {
    size_t s = 0;
    while (s < steps && ablation_steps()[s].key != c->variant) ++s;
    if (s == steps) continue;
    auto it = std::find_if(rows.begin(), rows.end(),
                           [&](const AblationRow& row) { return row.wbits == c->wbits && row.abits == c->abits; });
    if (it == rows.end()) {
      rows.push_back({c->wbits, c->abits, std::vector<double>(steps, NAN), std::vector<double>(steps, NAN)});
      it = rows.end() - 1;
    }
    it->accuracy[s] = c->accuracy;
    it->agreement[s] = c->agreement;
  }
  return rows;
}

nlohmann::ordered_json ablation_json(const StudyResults& r) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& row : ablation_rows(r)) {
    auto steps = nlohmann::ordered_json::array();
    for (size_t s = 0; s < row.accuracy.size(); ++s) {
      if (std::isnan(row.accuracy[s])) continue;
      steps.push_back({{"step", ablation_steps()[s].key}, {"accuracy", row.accuracy[s]}, {"agreement", row.agreement[s]}});
    }
    out.push_back({{"wbits", row.wbits}, {"abits", row.abits}, {"steps", steps}});
  }
  return out;
}

std::string ablation_markdown(const StudyResults& r) {
  const auto rows = ablation_rows(r);
  if (rows.empty()) return "";
  std::vector<std::string> header = {"width"};
  std::vector<char> align = {'l'};
  for (const auto& s : ablation_steps()) {
    header.push_back(s.label);
    align.push_back('r');
  }
  std::vector<std::vector<std::string>> cells;
  for (const auto& row : rows) {
    std::vector<std::string> line = {width_label(row.wbits, row.abits)};
    for (size_t s = 0; s < row.accuracy.size(); ++s)
      line.push_back(std::isnan(row.accuracy[s]) ? "" : f2(row.accuracy[s]) + " / " + f2(row.agreement[s]));
    cells.push_back(line);
  }
  return "## Ablation: what each low-bit method adds (accuracy % / agreement %)\n\n" +
         report::markdown_table(header, cells, align) +
         "\nEach column keeps the previous column's choices and adds one (docs/low_bit.md). Activations are the same "
         "within a row: uint8 with MSE clipping, raw pixels exact; at A4 the logits stay 8-bit.\n\n";
}

std::string ablation_svg(const StudyResults& r) {
  const auto rows = ablation_rows(r);
  if (rows.empty()) return "";
  std::vector<std::string> categories;
  for (const auto& row : rows) categories.push_back(width_label(row.wbits, row.abits));
  std::vector<report::Series> series;
  for (size_t s = 0; s < ablation_steps().size(); ++s) {
    report::Series ser{ablation_steps()[s].label};
    for (const auto& row : rows) ser.y.push_back(row.accuracy[s]);
    series.push_back(ser);
  }
  return report::grouped_bar_svg("Ablation: accuracy as each method is added", categories, series,
                                 {"test accuracy (%)", false, 0.0, 100.0});
}

}  // namespace tinyptq
