// REPORT.md: the comparison table in the reference project's shape, then the sweeps and a
// recommendation generated from the data.
#include <algorithm>
#include <cmath>

#include "report/format.h"
#include "report/markdown.h"
#include "study/ablation.h"
#include "study/study_output.h"
#include "study/study_summary.h"

namespace tinyptq {

namespace {
std::string f1(double v) { return report::format_number(v, "%.1f"); }
std::string f2(double v) { return report::format_number(v, "%.2f"); }
std::string sgn(double v) { return report::format_number(v, "%+.2f"); }
std::string kb(int64_t b) { return report::format_number(double(b) / 1000.0, "%.1f") + " kB"; }

std::string ci(const stats::Interval& i) { return f1(100.0 * i.lo) + "–" + f1(100.0 * i.hi); }
std::string pval(double p) { return p < 0.001 ? "<0.001" : report::format_number(p, "%.3f"); }

std::vector<std::string> comparison_row(const StudyResults& r, const ConfigResult& c) {
  const ConfigStats st = config_stats(r.fp32, c);
  return {c.label, data_types(c), c.act_method, f2(c.accuracy), ci(st.accuracy_ci),
          sgn(c.delta) + (st.significant ? "" : " ~"),
          std::to_string(st.vs_fp32.b) + "/" + std::to_string(st.vs_fp32.c) + ", p=" + pval(st.vs_fp32.p),
          f2(c.agreement), ci(st.agreement_ci), std::to_string(c.flipped.size()), sqnr_text(c.sqnr_db), kb(c.model_bytes),
          f2(c.size_reduction) + "x", kb(c.packed_weight_bytes)};
}
}  // namespace

std::string study_markdown(const StudyResults& r) {
  std::string md = "# tinyptq study\n\n";
  md += "Model `" + r.options.model + "`, data `" + r.options.data + "`; " + data_sentence(r) + "\n";
  md += accuracy_sentence(r) + "\n\n";
  md += "FP32 baseline: **" + f2(r.fp32.accuracy) + "%** (" + std::to_string(r.fp32.correct) + "/" +
        std::to_string(r.fp32.total) + "), " + kb(r.fp32.model_bytes) + ", " + std::to_string(r.fp32.parameters) +
        " parameters.\n\n";

  md += "Statistics: 95% Wilson score intervals on accuracy and on agreement; the paired test is an exact McNemar "
        "test against FP32 on the same images (b = FP32 right and the configuration wrong, c = the reverse; "
        "two-sided binomial on b + c). A Δ marked `~` is inside the noise (p >= 0.05).\n\n";
  const std::vector<std::string> header = {"configuration", "data types", "act. calibration", "accuracy %", "95% CI",
                                           "Δ vs FP32 (pp)", "McNemar b/c, p", "agreement %", "agr. 95% CI", "flipped",
                                           "SQNR dB", "size", "reduction", "packed weights"};
  const std::vector<char> align = {'l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'};
  std::vector<std::vector<std::string>> rows = {{"FP32", "float32", "-", f2(r.fp32.accuracy),
                                                 ci(stats::wilson_interval(r.fp32.correct, r.fp32.total)), "+0.00", "-",
                                                 "100.00", "-", "0", "inf", kb(r.fp32.model_bytes), "1.00x",
                                                 kb(r.fp32.packed_weight_bytes)}};
  for (const auto* c : group_results(r, "preset")) rows.push_back(comparison_row(r, *c));
  md += "## Comparison\n\n" + report::markdown_table(header, rows, align) + "\n";

  rows.clear();
  for (const auto* c : group_results(r, "matrix")) rows.push_back(comparison_row(r, *c));
  if (!rows.empty())
    md += "## Observer × weight granularity × activation type (8 bits)\n\n" + std::string(kMatrixTypeNote) + "\n\n" +
          report::markdown_table(header, rows, align) + "\n";

  // Per-class.
  std::vector<std::string> pch = {"class", "FP32"};
  const auto presets = group_results(r, "preset");
  for (const auto* c : presets) pch.push_back(c->label);
  rows.clear();
  for (size_t k = 0; k < r.fp32.class_names.size(); ++k) {
    std::vector<std::string> row = {r.fp32.class_names[k], f1(r.fp32.per_class_accuracy[k])};
    for (const auto* c : presets)
      row.push_back(k < c->per_class_accuracy.size() ? f1(c->per_class_accuracy[k]) + " (" + sgn(c->per_class_delta[k]) + ")" : "");
    rows.push_back(row);
  }
  md += "## Per-class accuracy (%, Δ vs FP32)\n\n" + report::markdown_table(pch, rows, {}) + "\n";

  // Calibration size.
  rows.clear();
  for (const auto& p : calibration_curve(r))
    rows.push_back({std::to_string(p.images), std::to_string(p.seeds), f2(p.mean), f2(p.stddev), f2(p.min), f2(p.max)});
  if (!rows.empty())
    md += "## Calibration-set size (best recipe without bias correction)\n\n" +
          report::markdown_table({"images", "seeds", "mean acc %", "std", "min", "max"}, rows, {'r', 'r', 'r', 'r', 'r', 'r'}) + "\n";

  // Bits sweeps.
  for (const auto& g : bits_grids(r)) {
    std::vector<std::string> h = {"W \\ A"};
    for (int a : g.abits) h.push_back("A" + std::to_string(a));
    rows.clear();
    for (size_t w = 0; w < g.wbits.size(); ++w) {
      std::vector<std::string> row = {"W" + std::to_string(g.wbits[w])};
      for (size_t a = 0; a < g.abits.size(); ++a) row.push_back(std::isnan(g.accuracy[w][a]) ? "" : f1(g.accuracy[w][a]));
      rows.push_back(row);
    }
    md += "## Bit-width sweep, " + g.variant + " (accuracy %)\n\n" + report::markdown_table(h, rows, {}) + "\n";
  }
  md += "naive = per-tensor MinMax, round to nearest (the reference project's sweep); best = tinyptq's recipe at that "
        "width (per-channel weights, MSE clipping, bias correction; below 8 bits also MSE weight ranges and AdaRound on "
        "the quantized network's inputs, with the study's budget: " +
        std::to_string(kSweepCalibPerClass * 10) + " calibration images, " +
        std::to_string(r.options.quick ? kQuickAdaRoundIterations : kSweepAdaRoundIterations) + " iterations per layer — "
        "`tinyptq quantize --preset best` uses 1,000 and 1,000).\n\n";

  // Per-layer sensitivity.
  rows.clear();
  for (const auto& l : layer_sensitivity(r))
    rows.push_back({l.layer, std::isnan(l.only) ? "" : f2(l.only), std::isnan(l.only) ? "" : sgn(l.only - r.fp32.accuracy),
                    std::isnan(l.except) ? "" : f2(l.except)});
  if (!rows.empty())
    md += "## Per-layer sensitivity (4-bit weights, 8-bit activations)\n\n" +
          report::markdown_table({"layer", "only this layer quantized %", "Δ vs FP32", "all but this layer quantized %"}, rows,
                                 {'l', 'r', 'r', 'r'}) + "\n";

  md += ablation_markdown(r);

  // Recommendation.
  const Recommendation rec = recommend(r);
  md += "## Recommendation\n\n";
  if (rec.recommended)
    md += "- **Recommended:** `" + rec.recommended->name + "` — " + f2(rec.recommended->accuracy) + "% (" +
          sgn(rec.recommended->delta) + " pp), agreement " + f2(rec.recommended->agreement) + "%, " +
          kb(rec.recommended->packed_weight_bytes) + " packed weights. Why: " + rec.reason + "\n";
  if (rec.best_accuracy)
    md += "- **Best accuracy:** `" + rec.best_accuracy->name + "` — " + f2(rec.best_accuracy->accuracy) + "% (" +
          sgn(rec.best_accuracy->delta) + " pp), agreement " + f2(rec.best_accuracy->agreement) + "%, " +
          kb(rec.best_accuracy->model_bytes) + ".\n";
  if (rec.best_compression)
    md += "- **Best compression within 1 pp of FP32:** `" + rec.best_compression->name + "` — " +
          kb(rec.best_compression->packed_weight_bytes) + " of weights packed at " +
          std::to_string(rec.best_compression->wbits) + " bits (" +
          f2(double(r.fp32.packed_weight_bytes) / double(std::max<int64_t>(1, rec.best_compression->packed_weight_bytes))) +
          "x smaller than FP32; ONNX file " + kb(rec.best_compression->model_bytes) + " in 8-bit containers), " +
          f2(rec.best_compression->accuracy) + "%.\n";
  if (rec.best_speed)
    md += "- **Fastest integer model within 1 pp of FP32:** `" + rec.best_speed->name + "` — " +
          f1(rec.best_speed->images_per_second) + " images/s on one thread while the study ran (a noisy timing; use "
          "`tinyptq bench` for speed).\n";
  md += "\nWall time: " + f1(r.wall_seconds) + " s with " + std::to_string(r.options.jobs) + " jobs.\n";
  return md;
}

}  // namespace tinyptq
