#include "eval/source_eval.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <optional>

#include "core/error.h"
#include "core/progress.h"
#include "eval/model_io.h"

namespace tinyptq {

Layout source_layout(const Graph& g) {
  try {
    return input_layout(g);
  } catch (const Error&) {
    return Layout::kNCHW;
  }
}

DataSpec with_model_image_size(DataSpec spec, const Graph& g) {
  if (g.inputs.size() != 1 || g.inputs[0].shape.size() != 4) return spec;
  const Shape& m = g.inputs[0].shape;
  const bool nchw = source_layout(g) == Layout::kNCHW;
  const int64_t h = nchw ? m[2] : m[1], w = nchw ? m[3] : m[2];
  if (h > 0 && w > 0) spec.height = h, spec.width = w;
  return spec;
}

void check_fits_model(const DataSource& s, const Graph& g, const std::string& model_path) {
  check(g.inputs.size() == 1,
        model_path + ": model has " + std::to_string(g.inputs.size()) + " inputs; --data feeds exactly one");
  const Shape& m = g.inputs[0].shape;
  const Shape& x = s.sample_shape();
  bool fits = m.size() == x.size() + 1;
  for (size_t k = 0; fits && k < x.size(); ++k) fits = m[k + 1] < 0 || m[k + 1] == x[k];
  check(fits, s.path() + ": samples have shape " + shape_str(x) + ", but " + model_path + " input '" +
                  g.inputs[0].name + "' takes " + shape_str(m) + " (first axis: batch)");
}

Tensor source_batch(const DataSource& s, std::span<const int64_t> indices) {
  Shape shape = {int64_t(indices.size())};
  shape.insert(shape.end(), s.sample_shape().begin(), s.sample_shape().end());
  Tensor t = Tensor::zeros(shape);
  s.read(indices, t.f.data());
  return t;
}

double run_source(Engine& engine, const DataSource& s, const EvalOptions& opts, const BatchOutputs& fn) {
  const int64_t batch = opts.batch;
  check(batch > 0, "batch must be > 0");
  std::optional<Progress> bar;
  if (opts.progress) bar.emplace(opts.progress_label, s.count());
  double engine_seconds = 0;
  std::vector<int64_t> idx;
  for (int64_t first = 0; first < s.count(); first += batch) {
    const int64_t n = std::min(batch, s.count() - first);
    idx.resize(size_t(n));
    std::iota(idx.begin(), idx.end(), first);
    const Tensor x = source_batch(s, idx);
    const auto e0 = std::chrono::steady_clock::now();
    const std::vector<Tensor> out = engine.run(x);
    engine_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count();
    fn(first, n, x, out);
    if (bar) bar->advance(n);
  }
  if (bar) bar->finish();
  return engine_seconds;
}

std::vector<int> top1_rows(const Tensor& out, int64_t n) {
  check(!out.shape.empty() && out.shape[0] == n && out.dtype == DType::kFloat32 && !out.f.empty(),
        "model output has shape " + shape_str(out.shape) + "; expected one row of scores per sample");
  const int64_t row = int64_t(out.f.size()) / n;
  std::vector<int> best(size_t(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    const float* r = out.f.data() + i * row;
    best[size_t(i)] = int(std::max_element(r, r + row) - r);
  }
  return best;
}

EvalResult evaluate(Engine& engine, const DataSource& s, const EvalOptions& opts) {
  check(!s.labels().empty(), s.path() +
                                 ": the data has no labels; pass --labels FILE.npy (or a .npz with 'y'), or "
                                 "--reference FP32.onnx to measure fidelity instead");
  EvalResult r;
  r.backend = engine.backend();
  r.total = s.count();
  r.labels = s.labels();
  r.predicted.resize(size_t(s.count()));
  const auto t0 = std::chrono::steady_clock::now();
  const double engine_seconds =
      run_source(engine, s, opts, [&](int64_t first, int64_t n, const Tensor&, const std::vector<Tensor>& out) {
        check(!out.empty(), "model produced no output");
        const std::vector<int> top = top1_rows(out[0], n);
        std::copy(top.begin(), top.end(), r.predicted.begin() + first);
      });
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.images_per_second = engine_seconds > 0 ? double(s.count()) / engine_seconds : 0;
  EvalResult scored = score_predictions(r.labels, r.predicted, s.num_classes(), s.class_names());
  scored.backend = r.backend;
  scored.seconds = r.seconds;
  scored.images_per_second = r.images_per_second;
  return scored;
}

}  // namespace tinyptq
