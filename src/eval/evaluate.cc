#include "eval/evaluate.h"

#include <chrono>
#include <optional>

#include "core/error.h"
#include "core/progress.h"
#include "engine/fp32_engine.h"
#include "engine/int_engine.h"
#include "eval/model_io.h"

namespace tinyptq {

namespace {

class Fp32Backend : public Engine {
 public:
  Fp32Backend(const Graph& g, int threads) : engine_(g, Fp32EngineOptions{threads}) {}
  std::vector<Tensor> run(const Tensor& input) override { return engine_.run(input); }
  std::string backend() const override { return "fp32"; }  // QDQ graphs run as float simulation

 private:
  Fp32Engine engine_;
};

class IntBackend : public Engine {
 public:
  IntBackend(const Graph& g, int threads, const int8::KernelTable* kernels)
      : engine_(g, IntEngineOptions{threads, kernels}) {}
  std::vector<Tensor> run(const Tensor& input) override { return engine_.run(input); }
  std::string backend() const override { return "int8"; }
  std::string describe() const override { return engine_.describe(); }

 private:
  IntEngine engine_;
};

Shape batch_shape(Layout layout, int64_t n) {
  return layout == Layout::kNHWC ? Shape{n, 32, 32, 3} : Shape{n, 3, 32, 32};
}

}  // namespace

std::unique_ptr<Engine> make_engine(const Graph& g, int threads, EngineKind kind,
                                    const int8::KernelTable* int8_kernels) {
  if (kind == EngineKind::kInteger || (kind == EngineKind::kAuto && is_qdq_graph(g)))
    return std::make_unique<IntBackend>(g, threads, int8_kernels);
  return std::make_unique<Fp32Backend>(g, threads);
}

std::unique_ptr<Engine> make_engine_for(const Graph& g, const std::string& path, int threads, EngineKind kind) {
  try {
    return make_engine(g, threads, kind);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

Tensor image_batch(const Dataset& d, int64_t first, int64_t n, Layout layout, const Preprocess& p) {
  Tensor t = Tensor::zeros(batch_shape(layout, n));
  images_to_floats(d, first, n, layout, p, t.f.data());
  return t;
}

Tensor image_batch(const Dataset& d, const std::vector<int64_t>& indices, Layout layout, const Preprocess& p) {
  Tensor t = Tensor::zeros(batch_shape(layout, int64_t(indices.size())));
  images_to_floats(d, indices, layout, p, t.f.data());
  return t;
}

EvalResult evaluate(const Graph& g, const Dataset& d, const EvalOptions& opts) {
  auto engine = make_engine(g, opts.threads);
  return evaluate(*engine, input_layout(g), d, opts);
}

EvalResult evaluate(Engine& engine, Layout layout, const Dataset& d, const EvalOptions& opts) {
  check(d.count > 0, "dataset split is empty");
  EvalResult r;
  r.backend = engine.backend();
  r.total = d.count;
  r.labels.assign(d.labels.begin(), d.labels.end());
  r.predicted.resize(size_t(d.count));
  std::optional<Progress> progress;
  if (opts.progress) progress.emplace(opts.progress_label, d.count);
  const auto t0 = std::chrono::steady_clock::now();
  double engine_seconds = 0;
  for (int64_t first = 0; first < d.count; first += opts.batch) {
    const int64_t n = std::min(opts.batch, d.count - first);
    Tensor x = image_batch(d, first, n, layout, opts.preprocess);
    const auto e0 = std::chrono::steady_clock::now();
    std::vector<Tensor> out = engine.run(x);
    engine_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count();
    check(!out.empty() && !out[0].shape.empty() && out[0].shape[0] == n,
          "model output has shape " + (out.empty() ? std::string("[]") : shape_str(out[0].shape)) +
              "; expected one row of class scores per image");
    const int64_t classes = int64_t(out[0].f.size()) / n;
    check(classes >= 1, "model output has no class scores");
    for (int64_t i = 0; i < n; ++i) {
      const float* row = out[0].f.data() + i * classes;
      int best = 0;
      for (int64_t c = 1; c < classes; ++c)
        if (row[c] > row[best]) best = int(c);
      r.predicted[size_t(first + i)] = best;
    }
    if (progress) progress->advance(n);
  }
  if (progress) progress->finish();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.images_per_second = engine_seconds > 0 ? double(d.count) / engine_seconds : 0;
  const int nclass = int(std::max<size_t>(d.class_names.size(), 10));
  EvalResult scored = score_predictions(r.labels, r.predicted, nclass, d.class_names);
  scored.backend = r.backend;
  scored.seconds = r.seconds;
  scored.images_per_second = r.images_per_second;
  return scored;
}

EvalResult score_predictions(const std::vector<int>& labels, const std::vector<int>& predicted, int num_classes,
                             const std::vector<std::string>& class_names) {
  check(labels.size() == predicted.size(), "labels and predictions differ in count");
  check(!labels.empty(), "no samples to score");
  EvalResult r;
  r.total = int64_t(labels.size());
  r.labels = labels;
  r.predicted = predicted;
  r.per_class.resize(size_t(num_classes));
  for (size_t c = 0; c < r.per_class.size(); ++c)
    r.per_class[c].class_name = class_names.size() == r.per_class.size() ? class_names[c] : std::to_string(c);
  for (size_t i = 0; i < labels.size(); ++i) {
    check(labels[i] >= 0 && labels[i] < num_classes, "label " + std::to_string(labels[i]) + " out of range");
    auto& pc = r.per_class[size_t(labels[i])];
    ++pc.total;
    if (predicted[i] == labels[i]) ++pc.correct, ++r.correct;
  }
  for (auto& pc : r.per_class) pc.accuracy = pc.total ? 100.0 * double(pc.correct) / double(pc.total) : 0.0;
  r.accuracy = 100.0 * double(r.correct) / double(r.total);
  return r;
}

double agreement_percent(const std::vector<int>& a, const std::vector<int>& b) {
  if (a.empty() || a.size() != b.size()) return 0.0;
  size_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return 100.0 * double(same) / double(a.size());
}

std::vector<int64_t> flipped_images(const std::vector<int>& a, const std::vector<int>& b) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    if (a[i] != b[i]) out.push_back(int64_t(i));
  return out;
}

}  // namespace tinyptq
