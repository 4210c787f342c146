#include "quant/sensitivity.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "core/progress.h"
#include "engine/fp32_engine.h"
#include "quant/adaround.h"
#include "quant/bias_correction.h"
#include "quant/layer_runner.h"
#include "quant/weight_quantizer.h"

namespace tinyptq {

namespace {

bool output_is_softmax(const Graph& g) {
  const int p = g.producer(g.outputs.at(0).name);
  return p >= 0 && g.nodes[size_t(p)].op == Op::kSoftmax;
}

// Row-wise softmax of [M, C] (identity when already probabilities).
std::vector<double> probabilities(const Tensor& out, bool is_probability) {
  const int64_t m = out.shape[0], c = out.shape[1];
  std::vector<double> p(size_t(m * c));
  for (int64_t i = 0; i < m; ++i) {
    const float* row = out.f.data() + i * c;
    double* pr = p.data() + i * c;
    if (is_probability) {
      for (int64_t j = 0; j < c; ++j) pr[j] = row[j];
      continue;
    }
    const double mx = *std::max_element(row, row + c);
    double sum = 0.0;
    for (int64_t j = 0; j < c; ++j) sum += (pr[j] = std::exp(double(row[j]) - mx));
    for (int64_t j = 0; j < c; ++j) pr[j] /= sum;
  }
  return p;
}

int argmax(const float* row, int64_t c) { return int(std::max_element(row, row + c) - row); }

// Nodes downstream of node `start` (itself included).
std::vector<bool> downstream(const Graph& g, int start) {
  std::vector<bool> down(g.nodes.size(), false);
  std::set<std::string> produced;
  for (size_t k = size_t(start); k < g.nodes.size(); ++k) {
    bool hit = int(k) == start;
    for (const auto& in : g.nodes[k].inputs) hit |= produced.count(in) != 0;
    if (!hit) continue;
    down[k] = true;
    for (const auto& o : g.nodes[k].outputs) produced.insert(o);
  }
  return down;
}

// Values read by downstream nodes but produced upstream (or the graph input): where re-running starts.
std::vector<std::string> frontier(const Graph& g, const std::vector<bool>& down) {
  std::set<std::string> produced, out;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (down[k])
      for (const auto& o : g.nodes[k].outputs) produced.insert(o);
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (down[k])
      for (const auto& in : g.nodes[k].inputs)
        if (!in.empty() && !g.is_initializer(in) && !produced.count(in)) out.insert(in);
  return {out.begin(), out.end()};
}

}  // namespace

ProxySet make_proxy_set(const Calibration& calib, Tensor inputs, int threads) {
  const Graph& g = calib.graph();
  check(!inputs.shape.empty() && inputs.shape[0] > 0, "proxy set is empty");
  ProxySet s;
  std::map<std::string, Tensor> values{{g.inputs.at(0).name, inputs}};
  const std::string out = g.outputs.at(0).name;
  run_graph(g, values, {out}, {}, threads);
  s.output = values.at(out);
  check(s.output.shape.size() == 2 && s.output.shape[0] == inputs.shape[0] && s.output.shape[1] > 1,
        "sensitivity: model output " + shape_str(s.output.shape) + " is not [images, classes]");
  const bool is_prob = output_is_softmax(g);
  std::vector<double> p = probabilities(s.output, is_prob);
  s.probabilities = Tensor::zeros(s.output.shape);
  for (size_t i = 0; i < p.size(); ++i) s.probabilities.f[i] = float(p[i]);
  const int64_t c = s.output.shape[1];
  for (int64_t i = 0; i < s.output.shape[0]; ++i) s.top1.push_back(argmax(s.output.f.data() + i * c, c));
  s.inputs = std::move(inputs);
  return s;
}

std::vector<int64_t> heldout_indices(const Dataset& d, const CalibrationSet& calibration, int per_class) {
  check(per_class > 0, "held-out images per class must be positive");
  const std::set<int64_t> used(calibration.indices.begin(), calibration.indices.end());
  std::vector<int> taken(Dataset::kNumClasses, 0);
  std::vector<int64_t> out;
  for (int64_t k = 0; k < d.count; ++k) {
    const int label = d.labels[size_t(k)];
    if (used.count(k) || label >= Dataset::kNumClasses || taken[size_t(label)] >= per_class) continue;
    ++taken[size_t(label)];
    out.push_back(k);
  }
  for (int c = 0; c < Dataset::kNumClasses; ++c)
    check(taken[size_t(c)] == per_class, "held-out set: class " + std::to_string(c) + " has only " +
                                             std::to_string(taken[size_t(c)]) + " images outside the calibration set");
  return out;
}

ProxyMetrics proxy_metrics(const ProxySet& set, const Tensor& output, bool output_is_probability) {
  check(output.shape == set.output.shape, "proxy metrics: output " + shape_str(output.shape) + " vs reference " +
                                              shape_str(set.output.shape));
  const int64_t m = output.shape[0], c = output.shape[1];
  const std::vector<double> q = probabilities(output, output_is_probability);
  ProxyMetrics r;
  int64_t agree = 0;
  double kl = 0.0;
  constexpr double kFloor = 1e-12;  // keeps log finite when a quantized probability underflows
  for (int64_t i = 0; i < m; ++i) {
    agree += argmax(output.f.data() + i * c, c) == set.top1[size_t(i)];
    for (int64_t j = 0; j < c; ++j) {
      const double p = set.probabilities.f[size_t(i * c + j)];
      if (p > 0.0) kl += p * (std::log(std::max(p, kFloor)) - std::log(std::max(q[size_t(i * c + j)], kFloor)));
    }
  }
  r.agreement = 100.0 * double(agree) / double(m);
  r.kl = kl / double(m);
  r.sqnr_db = sqnr_db(set.output.f, output.f);
  if (std::isinf(r.sqnr_db)) r.sqnr_db = 200.0;
  return r;
}

ProxyMetrics evaluate_proxy(const Graph& model, const ProxySet& set) {
  Fp32Engine engine(model);
  const Tensor out = engine.run(set.inputs)[0];
  return proxy_metrics(set, out, output_is_softmax(model));
}

std::vector<LayerSensitivity> layer_sensitivity(const Calibration& calib, const ProxySet& proxy,
                                                const QuantRecipe& recipe, const SensitivityOptions& o) {
  const Graph& g = calib.graph();
  for (int b : o.bits) check(b >= 2 && b <= 8, "sensitivity: bit width " + std::to_string(b) + " is not in 2..8");
  std::vector<int> bits = o.bits;
  std::sort(bits.begin(), bits.end());
  bits.erase(std::unique(bits.begin(), bits.end()), bits.end());
  check(!bits.empty(), "sensitivity: no bit widths");
  const QuantPlan plan = plan_quantization(g, recipe);
  std::vector<const QuantLayer*> layers;
  for (const auto& l : plan.layers)
    if (l.rule.weight_input >= 0) layers.push_back(&l);
  // FP32 values of the proxy images at every layer's frontier.
  std::vector<std::vector<std::string>> starts;
  std::vector<std::string> wanted{g.outputs.at(0).name};
  for (const QuantLayer* l : layers) {
    starts.push_back(frontier(g, downstream(g, l->node)));
    wanted.insert(wanted.end(), starts.back().begin(), starts.back().end());
  }
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  std::map<std::string, Tensor> fp{{g.inputs.at(0).name, proxy.inputs}};
  run_graph(g, fp, wanted, {}, recipe.threads);
  const bool is_prob = output_is_softmax(g);

  std::vector<LayerSensitivity> out;
  std::unique_ptr<Progress> progress;
  if (o.progress) progress = std::make_unique<Progress>("sensitivity", int64_t(layers.size() * bits.size()));
  for (size_t li = 0; li < layers.size(); ++li) {
    const QuantLayer& layer = *layers[li];
    const Node& n = g.nodes[size_t(layer.node)];
    const Tensor& w = *g.initializer(n.inputs[size_t(layer.rule.weight_input)]);
    const std::string& in = n.inputs[size_t(layer.rule.activation_inputs[0])];
    const Tensor& x = calib.cache().at(in);
    std::unique_ptr<AdaRoundProblem> problem;
    if (recipe.adaround) problem = std::make_unique<AdaRoundProblem>(g, layer, x, x, recipe);
    LayerSensitivity ls;
    ls.layer = layer.name;
    ls.weights = int64_t(w.f.size());
    for (int b : bits) {
      const QParams wp = weight_qparams(w, recipe, b);
      const QuantizedWeight qw = problem ? problem->round(wp, b) : quantize_weight(w, wp, b);
      const Tensor wq = dequantize_weight(qw);
      Tensor bias;
      if (recipe.bias_correction) bias = corrected_bias(g, layer, x, x, wq);
      RunnerHooks hooks;
      hooks.before_layer = [&](const Node& node, const Tensor&, Tensor& weight, Tensor& b_) {
        if (node.name != layer.name) return;
        weight = wq;
        if (!bias.f.empty() && !b_.f.empty()) b_ = bias;
      };
      std::map<std::string, Tensor> values;
      for (const auto& v : starts[li]) values[v] = fp.at(v);
      run_graph(g, values, {g.outputs.at(0).name}, hooks, recipe.threads);
      ls.results.push_back({b, proxy_metrics(proxy, values.at(g.outputs.at(0).name), is_prob)});
      if (progress) progress->advance();
    }
    out.push_back(std::move(ls));
  }
  if (progress) progress->finish();
  return out;
}

}  // namespace tinyptq
