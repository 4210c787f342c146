#include "eval/robustness.h"

#include <algorithm>

#include "core/error.h"
#include "quant/sensitivity.h"
#include "stats/statistics.h"

namespace tinyptq {

std::vector<DegradeSpec> default_degradations() {
  return {{Degradation::kJpeg, 75},
          {Degradation::kBrightness, 0.08},
          {Degradation::kBrightness, -0.08},
          {Degradation::kContrast, 0.8},
          {Degradation::kContrast, 1.2}};
}

Dataset select_images(const Dataset& d, const std::vector<int64_t>& indices) {
  Dataset out;
  out.source = d.source;
  out.split = d.split;
  out.class_names = d.class_names;
  out.count = int64_t(indices.size());
  out.pixels.reserve(indices.size() * Dataset::kImageBytes);
  out.labels.reserve(indices.size());
  for (int64_t k : indices) {
    const uint8_t* img = d.image(k);
    out.pixels.insert(out.pixels.end(), img, img + Dataset::kImageBytes);
    out.labels.push_back(d.labels[size_t(k)]);
  }
  return out;
}

namespace {

RobustnessRow compare(Engine& quantized, Engine& reference, Layout layout, const Dataset& d,
                      const std::string& name, const EvalOptions& eo) {
  EvalOptions o = eo;
  o.progress_label = name + " (fp32)";
  const EvalResult ref = evaluate(reference, layout, d, o);
  o.progress_label = name + " (quantized)";
  const EvalResult q = evaluate(quantized, layout, d, o);
  RobustnessRow row;
  row.set = name;
  row.images = d.count;
  for (size_t k = 0; k < q.predicted.size(); ++k) row.agree += q.predicted[k] == ref.predicted[k];
  row.agreement = agreement_percent(q.predicted, ref.predicted);
  const stats::Interval ci = stats::wilson_interval(row.agree, row.images);
  row.agreement_lo = 100 * ci.lo, row.agreement_hi = 100 * ci.hi;
  row.reference_accuracy = ref.accuracy;
  row.quantized_accuracy = q.accuracy;
  return row;
}

}  // namespace

std::vector<RobustnessRow> measure_robustness(Engine& quantized, Engine& reference, Layout layout,
                                              const Dataset& train, const Dataset& test,
                                              const RobustnessOptions& options) {
  check(test.count > 0, "robustness: the test split is empty");
  check(options.heldout_per_class >= 0, "held-out images per class must be >= 0");
  std::vector<RobustnessRow> rows;
  rows.push_back(compare(quantized, reference, layout, test, "test", options.eval));
  if (options.heldout_per_class > 0) {
    check_indices(options.calibration, train);
    const Dataset held = select_images(train, heldout_indices(train, options.calibration, options.heldout_per_class));
    rows.push_back(compare(quantized, reference, layout, held, "held-out train", options.eval));
  }
  for (const DegradeSpec& spec : options.degradations)
    rows.push_back(compare(quantized, reference, layout, degrade(test, spec), spec.name(), options.eval));
  return rows;
}

}  // namespace tinyptq
