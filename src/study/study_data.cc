#include "study/study_data.h"

#include <algorithm>

#include "core/error.h"
#include "data/open_source.h"
#include "eval/model_io.h"
#include "eval/source_eval.h"

namespace tinyptq {

StudyData open_study_data(const StudyOptions& opts, const Graph& model) {
  StudyData d;
  const Preprocess pre = parse_preprocess(opts.preprocess);
  check(opts.test_limit >= 0, "--test-limit must be >= 0");
  const int64_t limit = opts.test_limit > 0 ? opts.test_limit : -1;
  const DataSpec spec{opts.data, parse_data_format(opts.data_format), opts.labels, Split::kTest, limit};
  const DataFormat format = resolve_format(spec);
  d.format = data_format_name(format);
  d.cifar = format == DataFormat::kCifar10;
  if (d.cifar) {  // the ResNet8 path: the same images and floats as before DataSource existed
    check(opts.calib_data.empty(), "--calib-data is for non-CIFAR data; a CIFAR-10 directory calibrates on its train split");
    const Layout layout = input_layout(model, opts.model);
    d.calib = std::make_shared<CifarSource>(load_cifar10(opts.data, Split::kTrain), layout, pre);
    d.test = std::make_shared<CifarSource>(load_cifar10(opts.data, Split::kTest, limit), layout, pre);
  } else {
    d.test = open_data_source(with_model_image_size(spec, model), source_layout(model), pre);
    check_fits_model(*d.test, model, opts.model);
    if (opts.calib_data.empty()) {
      d.calib_is_test = true;
      DataSpec all = spec;
      all.limit = -1;
      d.calib = limit > 0 ? std::shared_ptr<const DataSource>(open_data_source(with_model_image_size(all, model),
                                                                                source_layout(model), pre))
                          : d.test;
    } else {
      const DataSpec cs{opts.calib_data, parse_data_format(opts.calib_data_format), opts.calib_labels, Split::kTrain, -1};
      d.calib = open_data_source(with_model_image_size(cs, model), source_layout(model), pre);
      check_fits_model(*d.calib, model, opts.model);
    }
  }
  d.labelled = !d.test->labels().empty();
  return d;
}

CalibrationSet study_calibration_draw(const StudyData& d, int per_class, uint64_t seed) {
  const std::vector<int>& labels = d.calib->labels();
  int draw = labels.empty() ? per_class * 10 : per_class;
  if (!labels.empty() && !d.cifar) {  // a user's folder may hold fewer per class than a sweep asks: take them all
    std::vector<int> count(size_t(d.calib->num_classes()), 0);
    for (int l : labels) ++count[size_t(l)];
    draw = std::min(draw, *std::min_element(count.begin(), count.end()));
    check(draw > 0, d.calib->path() + ": a class has no calibration samples");
  }
  CalibrationSet c = sample_source(*d.calib, draw, seed, d.format);
  c.per_class = per_class;
  return c;
}

StudyEval evaluate_on(const StudyData& d, Engine& engine, const EvalOptions& opts,
                      const std::vector<std::vector<Tensor>>* fp32_outputs, const std::vector<int>* fp32_top1,
                      bool keep_outputs) {
  const DataSource& s = *d.test;
  StudyEval r;
  std::vector<int> predicted;
  FidelityAccumulator acc;
  size_t batch_index = 0;
  const double seconds = run_source(engine, s, opts, [&](int64_t, int64_t n, const Tensor&, const std::vector<Tensor>& out) {
    check(!out.empty(), "model produced no output");
    for (int v : top1_rows(out[0], n)) predicted.push_back(v);
    if (fp32_outputs) acc.add(fp32_outputs->at(batch_index), out, n);
    if (keep_outputs) r.outputs.push_back(out);
    ++batch_index;
  });
  if (d.labelled) {
    r.eval = score_predictions(s.labels(), predicted, s.num_classes(), s.class_names());
  } else {  // the FP32 top-1 stands in for labels: accuracy is agreement with FP32, in one class "all"
    const std::vector<int> pseudo = fp32_top1 ? *fp32_top1 : predicted;
    std::vector<int> same(predicted.size(), 0), label(predicted.size(), 0);
    for (size_t i = 0; i < predicted.size(); ++i) same[i] = predicted[i] == pseudo[i] ? 0 : 1;
    r.eval = score_predictions(label, same, 1, {"all"});
    r.eval.labels = pseudo;
    r.eval.predicted = predicted;
  }
  r.eval.backend = engine.backend();
  r.eval.images_per_second = seconds > 0 ? double(s.count()) / seconds : 0;
  if (fp32_outputs) r.fidelity = acc.result();
  return r;
}

}  // namespace tinyptq
