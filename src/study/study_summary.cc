#include "study/study_summary.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "report/format.h"

namespace tinyptq {

std::vector<const ConfigResult*> group_results(const StudyResults& r, const std::string& group) {
  std::vector<const ConfigResult*> out;
  for (const auto& c : r.configs)
    if (c.group == group) out.push_back(&c);
  return out;
}

std::string data_types(const ConfigResult& c) {
  return "W" + std::to_string(c.wbits) + " " + c.weight_type + " " + c.granularity + " / A" + std::to_string(c.abits) +
         " " + c.act_type;
}

std::vector<CalibrationPoint> calibration_curve(const StudyResults& r) {
  std::map<int, std::vector<double>> by_size;
  for (const auto* c : group_results(r, "calibration")) by_size[c->calib_images].push_back(c->accuracy);
  std::vector<CalibrationPoint> out;
  for (const auto& [n, accs] : by_size) {
    CalibrationPoint p;
    p.images = n;
    p.seeds = int(accs.size());
    double sum = 0;
    for (double a : accs) sum += a;
    p.mean = sum / double(accs.size());
    p.min = *std::min_element(accs.begin(), accs.end());
    p.max = *std::max_element(accs.begin(), accs.end());
    double var = 0;
    for (double a : accs) var += (a - p.mean) * (a - p.mean);
    p.stddev = accs.size() > 1 ? std::sqrt(var / double(accs.size() - 1)) : 0.0;
    out.push_back(p);
  }
  return out;
}

std::vector<BitsGrid> bits_grids(const StudyResults& r) {
  std::vector<BitsGrid> out;
  for (const char* variant : {"naive", "best"}) {
    BitsGrid g;
    g.variant = variant;
    std::vector<const ConfigResult*> cells;
    for (const auto* c : group_results(r, "bits"))
      if (c->variant == variant) {
        cells.push_back(c);
        if (std::find(g.wbits.begin(), g.wbits.end(), c->wbits) == g.wbits.end()) g.wbits.push_back(c->wbits);
        if (std::find(g.abits.begin(), g.abits.end(), c->abits) == g.abits.end()) g.abits.push_back(c->abits);
      }
    if (cells.empty()) continue;
    std::sort(g.wbits.rbegin(), g.wbits.rend());
    std::sort(g.abits.rbegin(), g.abits.rend());
    g.accuracy.assign(g.wbits.size(), std::vector<double>(g.abits.size(), NAN));
    for (const auto* c : cells) {
      const size_t wi = size_t(std::find(g.wbits.begin(), g.wbits.end(), c->wbits) - g.wbits.begin());
      const size_t ai = size_t(std::find(g.abits.begin(), g.abits.end(), c->abits) - g.abits.begin());
      g.accuracy[wi][ai] = c->accuracy;
    }
    out.push_back(g);
  }
  return out;
}

std::vector<LayerSensitivity> layer_sensitivity(const StudyResults& r) {
  std::vector<LayerSensitivity> out;
  for (const auto* c : group_results(r, "layer")) {
    auto it = std::find_if(out.begin(), out.end(), [&](const LayerSensitivity& l) { return l.layer == c->layer; });
    if (it == out.end()) {
      out.push_back({c->layer});
      it = out.end() - 1;
    }
    (c->variant == "only" ? it->only : it->except) = c->accuracy;
  }
  return out;
}

std::vector<bool> correctness(const Fp32Baseline& fp32) {
  std::vector<bool> ok(fp32.labels.size());
  for (size_t i = 0; i < ok.size(); ++i) ok[i] = i < fp32.predicted.size() && fp32.predicted[i] == fp32.labels[i];
  return ok;
}

std::vector<bool> correctness(const Fp32Baseline& fp32, const ConfigResult& c) {
  std::vector<bool> ok = correctness(fp32);
  for (size_t k = 0; k < c.flipped.size() && k < c.flipped_predicted.size(); ++k) {
    const size_t i = size_t(c.flipped[k]);
    if (i < ok.size()) ok[i] = c.flipped_predicted[k] == fp32.labels[i];
  }
  return ok;
}

ConfigStats config_stats(const Fp32Baseline& fp32, const ConfigResult& c) {
  ConfigStats s;
  s.accuracy_ci = stats::wilson_interval(c.correct, c.total);
  s.agreement_ci = stats::wilson_interval(c.total - int64_t(c.flipped.size()), c.total);
  s.vs_fp32 = stats::mcnemar(correctness(fp32), correctness(fp32, c));
  s.significant = s.vs_fp32.p < stats::kAlpha;
  return s;
}

namespace {
bool is_candidate(const ConfigResult& c) { return c.group != "layer" && c.group != "calibration"; }
std::string pct(double v) { return report::format_number(v, "%.2f") + "%"; }
std::string kb(int64_t b) { return report::format_number(double(b) / 1000.0, "%.1f") + " kB"; }
}  // namespace

namespace {
// Without labels, top-1 agreement says little about regression or autoencoder outputs: the configurations
// within kSqnrTieDb of the highest output SQNR count as equal, and the smallest packed weights among them wins
// (plan order on exact ties).
constexpr double kSqnrTieDb = 0.5;

Recommendation recommend_by_sqnr(const StudyResults& r, Recommendation rec) {
  const ConfigResult* top = nullptr;
  for (const auto& c : r.configs)
    if (is_candidate(c) && (!top || c.sqnr_db > top->sqnr_db)) top = &c;
  const ConfigResult* pick = nullptr;
  int tied = 0;
  for (const auto& c : r.configs) {
    if (!is_candidate(c) || c.sqnr_db < top->sqnr_db - kSqnrTieDb) continue;
    ++tied;
    if (!pick || c.packed_weight_bytes < pick->packed_weight_bytes) pick = &c;
  }
  rec.indistinguishable = tied;
  rec.recommended = pick;
  rec.reason = "the data has no labels, so configurations are ranked by output SQNR against FP32: `" + top->name +
               "` has the highest (" + report::format_number(top->sqnr_db, "%.1f") + " dB); " +
               std::to_string(tied - 1) + " others are within " + report::format_number(kSqnrTieDb, "%.1f") +
               " dB of it, and `" + pick->name + "` has the smallest packed weights among them (" +
               kb(pick->packed_weight_bytes) + ", " + report::format_number(pick->sqnr_db, "%.1f") + " dB)";
  return rec;
}
}  // namespace

Recommendation recommend(const StudyResults& r) {
  Recommendation rec;
  for (const auto& c : r.configs) {
    if (!is_candidate(c)) continue;  // partial models / sampling study
    auto better_acc = [&](const ConfigResult* b) {
      if (!b) return true;
      if (c.accuracy != b->accuracy) return c.accuracy > b->accuracy;
      if (c.agreement != b->agreement) return c.agreement > b->agreement;
      return c.model_bytes < b->model_bytes;
    };
    if (better_acc(rec.best_accuracy)) rec.best_accuracy = &c;
    if (c.delta < -1.0) continue;
    if (!rec.best_compression || c.packed_weight_bytes < rec.best_compression->packed_weight_bytes ||
        (c.packed_weight_bytes == rec.best_compression->packed_weight_bytes && c.accuracy > rec.best_compression->accuracy))
      rec.best_compression = &c;
    if (!rec.best_speed || c.images_per_second > rec.best_speed->images_per_second) rec.best_speed = &c;
  }
  if (!rec.best_accuracy) return rec;
  if (!r.labelled) return recommend_by_sqnr(r, rec);

  // Candidates statistically indistinguishable from the most accurate configuration, then the tie-breaks.
  const ConfigResult& top = *rec.best_accuracy;
  const std::vector<bool> top_ok = correctness(r.fp32, top);
  std::vector<const ConfigResult*> tied;
  for (const auto& c : r.configs)
    if (is_candidate(c) && (&c == &top || stats::mcnemar(top_ok, correctness(r.fp32, c)).p >= stats::kAlpha))
      tied.push_back(&c);
  rec.indistinguishable = int(tied.size());
  auto keep_best = [&](auto key, bool larger) {  // keeps the candidates sharing the best key
    auto cmp = [&](const ConfigResult* a, const ConfigResult* b) { return larger ? key(a) < key(b) : key(a) > key(b); };
    const auto best = key(*std::max_element(tied.begin(), tied.end(), cmp));
    tied.erase(std::remove_if(tied.begin(), tied.end(), [&](const ConfigResult* c) { return key(c) != best; }), tied.end());
  };
  std::string reason = "`" + top.name + "` has the highest accuracy (" + pct(top.accuracy) + "); " +
                       std::to_string(rec.indistinguishable - 1) +
                       " other configurations are not significantly different from it (exact McNemar, p >= 0.05)";
  const char* decided = nullptr;
  if (tied.size() > 1) {
    keep_best([](const ConfigResult* c) { return c->agreement; }, true);
    if (tied.size() == 1) decided = "the highest FP32 agreement";
  }
  if (tied.size() > 1) {
    keep_best([](const ConfigResult* c) { return c->packed_weight_bytes; }, false);
    if (tied.size() == 1) decided = "the highest FP32 agreement, then the smallest packed weights";
  }
  if (tied.size() > 1) {
    keep_best([](const ConfigResult* c) { return c->model_bytes; }, false);
    if (tied.size() == 1) decided = "the highest FP32 agreement, then the smallest packed weights and ONNX file";
  }
  // Speed is not a tie-break here: the study's images/s are noisy single-thread timings, and the
  // recommendation is part of the deterministic results.json. Exact ties fall to plan order.
  std::string tie_note;
  if (tied.size() > 1) {
    decided = "the highest FP32 agreement and the smallest size";
    for (size_t k = 1; k < tied.size(); ++k) tie_note += (k > 1 ? ", `" : "`") + tied[k]->name + "`";
    tie_note = " (equal on both to " + tie_note + "; first in plan order)";
  }
  rec.recommended = tied.front();  // plan order among exact ties
  const ConfigResult& pick = *rec.recommended;
  if (!decided)
    reason += "; it is the only candidate, so it is recommended";
  else
    reason += "; among them `" + pick.name + "` has " + decided + tie_note + ": agreement " + pct(pick.agreement) +
              ", " + kb(pick.packed_weight_bytes) + " packed weights, accuracy " + pct(pick.accuracy);
  rec.reason = reason + ".";
  return rec;
}

nlohmann::ordered_json summary_json(const StudyResults& r) {
  nlohmann::ordered_json j;
  auto curve = nlohmann::ordered_json::array();
  for (const auto& p : calibration_curve(r))
    curve.push_back({{"images", p.images}, {"seeds", p.seeds}, {"mean", p.mean}, {"min", p.min}, {"max", p.max},
                     {"stddev", p.stddev}});
  j["calibration_size"] = curve;
  auto grids = nlohmann::ordered_json::object();
  for (const auto& g : bits_grids(r)) {
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (size_t w = 0; w < g.wbits.size(); ++w) {
      nlohmann::ordered_json row = nlohmann::ordered_json::object();
      for (size_t a = 0; a < g.abits.size(); ++a)
        if (!std::isnan(g.accuracy[w][a])) row["A" + std::to_string(g.abits[a])] = g.accuracy[w][a];
      rows.push_back({{"wbits", g.wbits[w]}, {"accuracy", row}});
    }
    grids[g.variant] = rows;
  }
  j["bits_sweep"] = grids;
  auto layers = nlohmann::ordered_json::array();
  for (const auto& l : layer_sensitivity(r))
    layers.push_back({{"layer", l.layer},
                      {"only_this_layer_quantized", std::isnan(l.only) ? nlohmann::ordered_json() : nlohmann::ordered_json(l.only)},
                      {"all_but_this_layer_quantized", std::isnan(l.except) ? nlohmann::ordered_json() : nlohmann::ordered_json(l.except)}});
  j["layer_sensitivity"] = layers;
  const Recommendation rec = recommend(r);
  j["recommendation"] = {{"best_accuracy", rec.best_accuracy ? rec.best_accuracy->name : ""},
                         {"best_compression", rec.best_compression ? rec.best_compression->name : ""},
                         {"recommended", rec.recommended ? rec.recommended->name : ""},
                         {"indistinguishable_from_best_accuracy", rec.indistinguishable},
                         {"reason", rec.reason}};
  return j;
}

std::string data_sentence(const StudyResults& r) {
  const std::string calib = std::to_string(r.calib_images);
  if (r.cifar)
    return "test split " + std::to_string(r.fp32.total) + " images; calibration " + calib +
           " training images, stratified (`calibration.json`, seed " + std::to_string(r.options.seed) + ").";
  const std::string from = r.calib_is_test ? "drawn from the evaluation data itself (no `--calib-data`: calibration "
                                             "and evaluation overlap)"
                                           : "from `" + r.options.calib_data + "`";
  return "evaluation on " + std::to_string(r.fp32.total) + " samples" + (r.labelled ? "" : " without labels") +
         "; calibration " + calib + " samples " + from + " (`calibration.json`, seed " + std::to_string(r.options.seed) +
         ").";
}

std::string accuracy_sentence(const StudyResults& r) {
  const std::string sqnr = " Output SQNR is 10·log10(Σ fp32² / Σ (fp32 − q)²) over every output element of every "
                           "sample: the fidelity measure for regression and autoencoder models.";
  if (!r.labelled)
    return "The data has no labels, so every accuracy below is top-1 agreement with FP32 (FP32 = 100 % by "
           "construction; the McNemar b counts the flipped samples)." + sqnr;
  return "Accuracy is top-1 on the " + std::string(r.cifar ? "test split" : "evaluation data") +
         " from tinyptq's integer engine; agreement is the share of samples whose top-1 equals the FP32 model's; "
         "flipped counts the others." + sqnr;
}

std::string sqnr_text(double db) {
  if (std::isinf(db)) return db > 0 ? "inf" : "-inf";
  return report::format_number(db, "%.1f");
}

}  // namespace tinyptq
