// report.html: one self-contained page with inline SVG charts (bits × bits heatmaps, calibration-size
// curve with spread, per-class bars, per-layer sensitivity, size vs accuracy) and the tables of REPORT.md.
#include <cmath>

#include "report/format.h"
#include "report/html_page.h"
#include "report/svg_chart.h"
#include "study/ablation.h"
#include "study/study_output.h"
#include "study/study_summary.h"

namespace tinyptq {

namespace {
std::string f2(double v) { return report::format_number(v, "%.2f"); }
std::string sgn(double v) { return report::format_number(v, "%+.2f"); }
std::string kb(int64_t b) { return report::format_number(double(b) / 1000.0, "%.1f") + " kB"; }
std::string ci(const stats::Interval& i) {
  return report::format_number(100.0 * i.lo, "%.1f") + "–" + report::format_number(100.0 * i.hi, "%.1f");
}
std::string pval(double p) { return p < 0.001 ? "<0.001" : report::format_number(p, "%.3f"); }
}  // namespace

std::string study_html(const StudyResults& r) {
  report::HtmlPage page("tinyptq study");
  page.paragraph("Model " + r.options.model + " on " + r.options.data + ": FP32 " + f2(r.fp32.accuracy) + "% (" +
                 std::to_string(r.fp32.correct) + "/" + std::to_string(r.fp32.total) + "), " + kb(r.fp32.model_bytes) +
                 "; " + data_sentence(r) + " " + accuracy_sentence(r));

  const Recommendation rec = recommend(r);
  page.heading("Recommendation");
  if (rec.recommended)
    page.paragraph("Recommended: " + rec.recommended->name + " — " + f2(rec.recommended->accuracy) + "%, agreement " +
                   f2(rec.recommended->agreement) + "%, " + kb(rec.recommended->packed_weight_bytes) +
                   " packed weights. Why: " + rec.reason);
  if (rec.best_accuracy)
    page.paragraph("Best accuracy: " + rec.best_accuracy->name + " — " + f2(rec.best_accuracy->accuracy) + "%, agreement " +
                   f2(rec.best_accuracy->agreement) + "%, " + kb(rec.best_accuracy->model_bytes) + ".");
  if (rec.best_compression)
    page.paragraph("Best compression within 1 pp of FP32: " + rec.best_compression->name + " — " +
                   kb(rec.best_compression->packed_weight_bytes) + " of weights packed at " +
                   std::to_string(rec.best_compression->wbits) + " bits (ONNX file " +
                   kb(rec.best_compression->model_bytes) + "), " + f2(rec.best_compression->accuracy) + "%.");

  page.heading("Comparison");
  page.paragraph("95% Wilson score intervals on accuracy and agreement; McNemar = exact paired test against FP32 on the "
                 "same images (b = FP32 right and the configuration wrong, c = the reverse). A Δ marked ~ is inside "
                 "the noise (p >= 0.05). The highlighted row is the recommendation.");
  std::vector<std::vector<std::string>> rows = {{"FP32", "float32", f2(r.fp32.accuracy),
                                                 ci(stats::wilson_interval(r.fp32.correct, r.fp32.total)), "+0.00", "-",
                                                 "100.00", "-", "inf", kb(r.fp32.model_bytes), "1.00x"}};
  int highlight = -1;
  for (const auto& c : r.configs)
    if (c.group == "preset" || c.group == "matrix") {
      if (rec.recommended == &c) highlight = int(rows.size());
      const ConfigStats st = config_stats(r.fp32, c);
      rows.push_back({c.label, data_types(c) + " (" + c.act_method + ")", f2(c.accuracy), ci(st.accuracy_ci),
                      sgn(c.delta) + (st.significant ? "" : " ~"),
                      std::to_string(st.vs_fp32.b) + "/" + std::to_string(st.vs_fp32.c) + ", p=" + pval(st.vs_fp32.p),
                      f2(c.agreement), ci(st.agreement_ci), sqnr_text(c.sqnr_db), kb(c.model_bytes),
                      f2(c.size_reduction) + "x"});
    }
  page.table({"configuration", "data types", "accuracy %", "95% CI", "Δ pp", "McNemar b/c, p", "agreement %",
              "agr. 95% CI", "SQNR dB", "size", "reduction"},
             rows, highlight);
  page.paragraph(kMatrixTypeNote);

  // Size vs accuracy: weights packed at their widths; matrix points unlabeled (they sit on the presets).
  std::vector<report::Point> pts = {{"FP32", double(r.fp32.packed_weight_bytes) / 1000.0, r.fp32.accuracy, "fp32"}};
  for (const auto& c : r.configs)
    if (c.group == "preset" || c.group == "matrix" || (c.group == "bits" && c.abits == 8))
      pts.push_back({c.group == "matrix" ? "" : c.label, double(c.packed_weight_bytes) / 1000.0, c.accuracy,
                     c.group == "bits" ? "W·A8 " + c.variant : c.group});
  page.figure(report::scatter_svg("Weight size vs accuracy", {"weights packed at their bit width (kB)", true},
                                  {"test accuracy (%)"}, pts),
              "Presets, the observer matrix (unlabeled) and the bit sweep at 8-bit activations; log-scale size.");

  // Per-class bars as deltas: on a 0–100 axis the differences (a few points) are invisible.
  std::vector<report::Series> series;
  for (const auto* c : group_results(r, "preset")) series.push_back({c->label, {}, c->per_class_delta});
  std::string fp32_classes;
  for (size_t k = 0; k < r.fp32.class_names.size() && k < r.fp32.per_class_accuracy.size(); ++k)
    fp32_classes += (k ? ", " : "") + r.fp32.class_names[k] + " " + report::format_number(r.fp32.per_class_accuracy[k], "%.1f");
  page.figure(report::grouped_bar_svg("Per-class accuracy Δ vs FP32", r.fp32.class_names, series,
                                      {"Δ accuracy vs FP32 (pp)", false, std::nullopt, std::nullopt, "%+.1f"}),
              "Per-class test accuracy of each preset minus FP32's (FP32 per class, %: " + fp32_classes +
                  "). About " + std::to_string(r.fp32.total / int64_t(std::max<size_t>(1, r.fp32.class_names.size()))) +
                  " test samples per class, so one sample is about " +
                  report::format_number(100.0 * double(std::max<size_t>(1, r.fp32.class_names.size())) /
                                            double(std::max<int64_t>(1, r.fp32.total)), "%.1f") + " pp.");

  // Bits heatmaps.
  for (const auto& g : bits_grids(r)) {
    std::vector<std::string> rl, cl;
    for (int w : g.wbits) rl.push_back("W" + std::to_string(w));
    for (int a : g.abits) cl.push_back("A" + std::to_string(a));
    page.figure(report::heatmap_svg("Accuracy by bit width (" + g.variant + ")", rl, cl, g.accuracy, "weight bits",
                                    "activation bits", "%.1f"),
                g.variant == "naive" ? "Per-tensor MinMax, round to nearest." : "tinyptq's best recipe at each width.");
  }

  // Calibration curve.
  const auto curve = calibration_curve(r);
  if (!curve.empty()) {
    report::Series s{"mean over seeds"};
    for (const auto& p : curve) {
      s.x.push_back(p.images);
      s.y.push_back(p.mean);
      s.y_low.push_back(p.min);
      s.y_high.push_back(p.max);
    }
    page.figure(report::line_chart_svg("Accuracy vs calibration-set size", {"calibration images", true},
                                       {"test accuracy (%)"}, {s}),
                "Mean over seeds; the band spans min to max.");
  }

  // Per-layer sensitivity.
  const auto layers = layer_sensitivity(r);
  if (!layers.empty()) {
    std::vector<std::string> labels;
    std::vector<double> only, except;
    for (const auto& l : layers) {
      labels.push_back(l.layer);
      only.push_back(std::isnan(l.only) ? NAN : l.only - r.fp32.accuracy);
      except.push_back(std::isnan(l.except) ? NAN : l.except - r.fp32.accuracy);
    }
    page.figure(report::horizontal_bar_svg("Only this layer at 4-bit weights: Δ accuracy", labels, only, {"Δ vs FP32 (pp)", false, {}, {}, "%.2f"}),
                "Accuracy change when only this layer is quantized (W4A8), the rest float.");
    page.figure(report::horizontal_bar_svg("All but this layer at 4-bit weights: Δ accuracy", labels, except, {"Δ vs FP32 (pp)", false, {}, {}, "%.2f"}),
                "Accuracy change when every layer but this one is quantized (W4A8).");
  }
  if (const std::string svg = ablation_svg(r); !svg.empty())
    page.figure(svg, "Test accuracy at each width as the low-bit methods are added one by one (REPORT.md has the table).");
  page.paragraph("Wall time " + report::format_number(r.wall_seconds, "%.1f") + " s with " +
                 std::to_string(r.options.jobs) + " jobs. Machine-readable results: results.json, results.csv.");
  return page.str();
}

}  // namespace tinyptq
