#include "quant/quantizer.h"

#include "quant/requant.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "core/error.h"
#include "core/strings.h"
#include "engine/fp32_engine.h"
#include "quant/act_range_search.h"
#include "quant/adaround.h"
#include "quant/adaround/fake_quant.h"
#include "quant/bias_correction.h"
#include "quant/cle.h"
#include "quant/layer_runner.h"
#include "quant/qdq_simulation.h"
#include "quant/observers/observer.h"
#include "quant/prepare_graph.h"
#include "quant/weight_quantizer.h"

namespace tinyptq {

namespace {

constexpr int64_t kObserveChunk =
    64;  // images per observe() call: fixed, so results never depend on batching

// Own values and pass-through outputs (bias correction and AdaRound read a layer's input in its shape).
std::vector<std::string> all_candidate_values(const QuantPlan& plan) {
  std::vector<std::string> v = plan.act_values;
  for (const auto& [out, src] : plan.shared_with) v.push_back(out);
  return v;
}

// Every per-layer override must name a quantizable node of g (a misspelt name would silently do nothing).
void check_layer_overrides(const Graph& g, const QuantRecipe& r) {
  for (const auto& [name, ov] : r.layers) {
    const bool found = std::any_of(g.nodes.begin(), g.nodes.end(), [&](const Node& n) {
      return n.name == name && node_rule(g, n).role == QuantRole::kCompute;
    });
    if (found) continue;
    std::vector<std::string> known;
    for (const auto& n : g.nodes)
      if (node_rule(g, n).role == QuantRole::kCompute) known.push_back(n.name);
    throw Error("no quantizable layer named '" + name + "' in the model (its layers: " + join(known, ", ") + ")");
  }
}

int layer_wbits(const QuantRecipe& r, const std::string& name) {
  auto it = r.layers.find(name);
  return it != r.layers.end() && it->second.wbits ? *it->second.wbits : r.wbits;
}

// True when v is a raw network input (the pixels the model is fed).
bool is_raw_input(const QuantPlan& plan, const std::string& v) {
  return std::find(plan.input_values.begin(), plan.input_values.end(), v) != plan.input_values.end();
}

// Observer options of activation value v: the recipe's format (output_abits for network outputs) and
// method; raw pixels MinMax at 8 bits when input_minmax.
ObserverOptions act_options(const QuantRecipe& recipe, const QuantPlan& plan, const std::set<std::string>& outputs,
                            const std::string& v) {
  ObserverOptions oo;
  oo.format = recipe.act_format();
  if (recipe.output_abits > 0 && outputs.count(v)) oo.format.bits = recipe.output_abits;
  oo.symmetric = recipe.act_symmetric;
  oo.percentile = recipe.percentile;
  const bool raw_input = is_raw_input(plan, v);
  oo.method = raw_input && recipe.input_minmax ? Method::kMinMax : recipe.act_method;
  if (raw_input && recipe.input_minmax) oo.format.bits = 8;  // raw pixels: keep 0..255 exact
  return oo;
}

// fn(values) over the images of t in chunks of kObserveChunk images.
template <typename Fn>
void for_each_chunk(const Tensor& t, Fn&& fn) {
  const int64_t images = t.shape.empty() ? 0 : t.shape[0];
  const int64_t per = images ? int64_t(t.f.size()) / images : 0;
  for (int64_t first = 0; first < images; first += kObserveChunk)
    fn(std::span<const float>(t.f.data() + first * per, size_t(std::min(kObserveChunk, images - first) * per)));
}

void feed(Observer& obs, const Tensor& t) {
  for_each_chunk(t, [&](std::span<const float> values) { obs.observe(values); });
}

QParams observe(const Tensor& t, const ObserverOptions& oo) {
  auto obs = make_observer(oo);
  feed(*obs, t);
  const Range r = obs->range();
  return qparams_from_range(r.min, r.max, oo.format);
}

// As observe(calib.cache().at(v), oo), with histogram methods reading the calibration's shared histogram.
QParams observe_fp32_value(const Calibration& calib, const std::string& v, const ObserverOptions& oo) {
  auto obs = make_observer(oo);
  if (const int bins = obs->histogram_bins())
    obs->adopt_histogram(calib.fp32_histogram(v, bins, obs->name()));
  else
    feed(*obs, calib.cache().at(v));
  const Range r = obs->range();
  return qparams_from_range(r.min, r.max, oo.format);
}

using WeightMap = std::map<std::string, QuantizedWeight>;
using BiasMap = std::map<std::string, Tensor>;

// Rounds one layer's weight (nearest or AdaRound) and corrects its bias, given its quantized input x_hat
// and FP32 input x on the calibration images.
void quantize_layer(const Graph& g, const QuantLayer& layer, const Tensor& x_hat, const Tensor& x,
                    const QuantRecipe& recipe, WeightMap& weights, BiasMap& biases) {
  const Node& n = g.nodes[layer.node];
  const Tensor& w = *g.initializer(n.inputs[layer.rule.weight_input]);
  const int bits = layer_wbits(recipe, layer.name);
  const QParams wp = weight_qparams(w, recipe, bits);
  QuantizedWeight qw = recipe.adaround ? adaround_layer(g, layer, x_hat, x, wp, bits, recipe) : quantize_weight(w, wp, bits);
  if (recipe.bias_correction) biases[layer.name] = corrected_bias(g, layer, x_hat, x, dequantize_weight(qw));
  weights[layer.name] = std::move(qw);
}

// Quantizes the weights layer by layer on the partially quantized network: every activation is
// fake-quantized as the QDQ graph will, every layer already done runs with its quantized weight and its
// int32-rounded bias, so each layer sees the input it will see in the final model.
void quantize_on_quantized_path(const Calibration& calib, const QuantPlan& plan,
                                std::map<std::string, QParams>& act, const QuantRecipe& recipe, WeightMap& weights,
                                BiasMap& biases) {
  const Graph& g = calib.graph();
  std::map<std::string, const QuantLayer*> by_node;
  for (const auto& l : plan.layers)
    if (l.rule.weight_input >= 0) by_node[l.name] = &l;
  auto fq = [&](const std::string& v, Tensor& t) {
    if (auto it = act.find(v); it != act.end()) adaround::fake_quantize_tensor(t.f, it->second);
  };
  const std::set<std::string> own(plan.act_values.begin(), plan.act_values.end());
  const std::set<std::string> outputs = network_output_values(g);
  RunnerHooks hooks;
  hooks.after_value = [&](const std::string& v, Tensor& t) {
    const bool raw = is_raw_input(plan, v);
    if (own.count(v) && !raw && recipe.act_ranges != ActRanges::kFloat) {
      const ObserverOptions oo = act_options(recipe, plan, outputs, v);
      if (recipe.act_ranges == ActRanges::kQuantized) {
        act[v] = observe(t, oo);
      } else {
        RangeSearchOptions ro;
        ro.centered = recipe.bias_correction;
        ro.threads = recipe.threads;
        act[v] = search_activation_range(g, v, t, calib.cache().at(v), oo.format, ro);
      }
    }
    if (auto sh = plan.shared_with.find(v); sh != plan.shared_with.end()) act[v] = act.at(sh->second);
    fq(v, t);
  };
  hooks.before_layer = [&](const Node& n, const Tensor& x_hat, Tensor& weight, Tensor& bias) {
    auto it = by_node.find(n.name);
    if (it == by_node.end()) return;
    const QuantLayer& layer = *it->second;
    const std::string& in = n.inputs[layer.rule.activation_inputs[0]];
    const bool cached = calib.cache().values.count(in) != 0;
    quantize_layer(g, layer, x_hat, cached ? calib.cache().at(in) : x_hat, recipe, weights, biases);
    if (auto b = biases.find(layer.name); b != biases.end() && !bias.f.empty()) bias = b->second;
    auto sx = act.find(in);
    if (!bias.f.empty() && sx != act.end())  // as rewrite_qdq will write it
      weights[layer.name] = fit_bias_to_int32(weights.at(layer.name), bias, sx->second.scale[0]);
    const QuantizedWeight& qw = weights.at(layer.name);
    weight = dequantize_weight(qw);
    if (!bias.f.empty() && sx != act.end()) {  // the int32 bias of the QDQ graph
      const Tensor q = quantize_bias(bias, sx->second.scale[0], qw.params);
      for (size_t c = 0; c < bias.f.size(); ++c)
        bias.f[c] = float(double(q.i[c]) * double(sx->second.scale[0]) *
                          double(qw.params.scale[qw.params.scale.size() > 1 ? c : 0]));
    }
  };
  std::map<std::string, Tensor> values;
  const std::string& input = g.inputs.at(0).name;
  values[input] = calib.inputs();
  fq(input, values[input]);
  std::vector<std::string> graph_outputs;
  for (const auto& o : g.outputs) graph_outputs.push_back(o.name);
  run_graph(g, values, graph_outputs, hooks, recipe.threads);
}

}  // namespace

const SplitHistogram& Calibration::fp32_histogram(const std::string& v, int bins, const std::string& owner) const {
  std::lock_guard<std::mutex> lock(histograms_mutex_);
  auto& slot = histograms_[{v, bins}];
  if (!slot) {
    auto h = std::make_unique<SplitHistogram>(bins, owner);
    for_each_chunk(cache_.at(v), [&](std::span<const float> values) { h->add(values); });
    slot = std::move(h);  // only once the whole value is in (an Error above leaves the slot empty)
  }
  return *slot;
}

Calibration::Calibration(const Graph& model, Tensor inputs, bool cle)
    : graph_(prepare_for_quantization(model)), inputs_(std::move(inputs)), cle_(cle) {
  check(!inputs_.shape.empty() && inputs_.shape[0] > 0, "calibration set is empty");
  // Weights and biases alike: a non-finite bias hides behind a ReLU and would be saturated silently.
  for (const auto& [name, t] : graph_.initializers)
    check(all_finite(t.f), "initializer '" + name + "' contains NaN or Inf");
  if (cle_) equalize_cross_layer(graph_);
  plan_ = plan_quantization(graph_, QuantRecipe{});
  cache_ = collect_activations(graph_, inputs_, all_candidate_values(plan_));
}

QuantizeResult quantize(const Calibration& calib, const QuantRecipe& recipe, const QuantizeOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  check(recipe.wbits >= 2 && recipe.wbits <= 8,
        "weight bits must be 2..8 (got " + std::to_string(recipe.wbits) + ")");
  check(recipe.abits >= 2 && recipe.abits <= 8,
        "activation bits must be 2..8 (got " + std::to_string(recipe.abits) + ")");
  check(recipe.output_abits == 0 || (recipe.output_abits >= 2 && recipe.output_abits <= 8),
        "output activation bits must be 2..8 (got " + std::to_string(recipe.output_abits) + ")");
  check(recipe.cross_layer_equalization == calib.cle(), "internal: calibration CLE mismatch");
  const Graph& g = calib.graph();
  check_layer_overrides(g, recipe);
  QuantizeResult res;
  res.plan = plan_quantization(g, recipe);
  const QuantPlan& plan = res.plan;

  // Activations: one observer per value, on the FP32 cache. When ranges are re-observed on the partially
  // quantized path (act_ranges != kFloat), that path sets every value it computes except raw inputs, which
  // are observed here first; values it does not reach are observed on the FP32 cache after it (the same
  // numbers the eager observation gave, without observing the rest twice).
  std::map<std::string, QParams> act;
  const std::set<std::string> outputs = network_output_values(g);
  const bool reobserved = recipe.act_ranges != ActRanges::kFloat;
  auto observe_fp32 = [&](bool only_raw) {
    for (const auto& v : plan.act_values) {
      if (act.count(v)) continue;
      if (only_raw && !is_raw_input(plan, v)) continue;
      act[v] = observe_fp32_value(calib, v, act_options(recipe, plan, outputs, v));
    }
    for (const auto& n : g.nodes)  // pass-through outputs reuse their source's params (topological order)
      for (const auto& o : n.outputs)
        if (auto it = plan.shared_with.find(o); it != plan.shared_with.end() && act.count(it->second))
          act.emplace(o, act.at(it->second));
  };
  observe_fp32(reobserved);

  // Weights: round to nearest (or AdaRound), then bias correction.
  WeightMap weights;
  BiasMap biases;
  if (recipe.act_ranges != ActRanges::kFloat ||
      (recipe.quantized_inputs && (recipe.adaround || recipe.bias_correction))) {
    quantize_on_quantized_path(calib, plan, act, recipe, weights, biases);
    observe_fp32(false);
  } else {
    for (const auto& layer : plan.layers) {
      if (layer.rule.weight_input < 0) continue;
      const Node& n = g.nodes[layer.node];
      const std::string& in = n.inputs[layer.rule.activation_inputs[0]];
      if (!recipe.adaround && !recipe.bias_correction) {
        const Tensor& w = *g.initializer(n.inputs[layer.rule.weight_input]);
        const int bits = layer_wbits(recipe, layer.name);
        weights[layer.name] = quantize_weight(w, weight_qparams(w, recipe, bits), bits);
        continue;
      }
      const Tensor& x = calib.cache().at(in);
      auto p = act.find(in);
      quantize_layer(g, layer, p != act.end() ? fake_quantized(x, p->second) : x, x, recipe, weights, biases);
    }
  }
  res.model = rewrite_qdq(g, plan, act, weights, biases);
  // The arithmetic the model was made for; the integer engine (and export-c) read it from here.
  if (recipe.requant == Requantization::kInteger) res.model.graph.metadata["tinyptq.requant"] = "integer";

  // Report.
  for (const auto& layer : plan.layers) {
    LayerReport r;
    r.node = layer.name;
    r.op = op_name(layer.op);
    r.value = layer.output_value;
    if (layer.rule.weight_input >= 0) {
      r.wbits = weights.at(layer.name).bits;
      r.weight_granularity = recipe.per_channel ? "per-channel" : "per-tensor";
    }
    if (layer.float_output) {  // dequantized int32 accumulator: no output quantization point
      r.abits = 32;
      res.layers.push_back(r);
      continue;
    }
    const QParams& p = act.at(layer.output_value);
    r.scale = p.scale[0];
    r.zero_point = p.zero_point[0];
    r.min = float(double(p.scale[0]) * (qmin(p.format) - p.zero_point[0]));
    r.max = float(double(p.scale[0]) * (qmax(p.format) - p.zero_point[0]));
    r.abits = p.format.bits;
    res.layers.push_back(r);
  }
  if (opts.sqnr_images > 0) {
    const int64_t n = std::min(opts.sqnr_images, calib.cache().images);
    Fp32Engine sim(fold_constant_dequantize(res.model.graph));
    std::map<std::string, std::string> by_dq;
    for (const auto& [v, dq] : res.model.dequantized) by_dq[dq] = v;
    std::map<std::string, std::pair<double, double>> energy;  // value → (Σref², Σerr²)
    for (int64_t first = 0; first < n; first += kObserveChunk) {
      const int64_t count = std::min(kObserveChunk, n - first);
      Tensor batch = slice_batch(calib.inputs(), first, count);
      sim.run(batch, [&](const std::string& name, const Tensor& t) {
        auto it = by_dq.find(name);
        if (it == by_dq.end() || !calib.cache().values.count(it->second)) return;
        auto ref = calib.cache().rows(it->second, first, count);
        auto& e = energy[it->second];
        for (size_t k = 0; k < ref.size() && k < t.f.size(); ++k) {
          e.first += double(ref[k]) * ref[k];
          e.second += double(ref[k] - t.f[k]) * (ref[k] - t.f[k]);
        }
      });
    }
    for (auto& r : res.layers) {
      auto it = energy.find(r.value);
      if (it == energy.end()) continue;
      r.sqnr_db = it->second.second > 0 ? 10.0 * std::log10(it->second.first / it->second.second) : 200.0;
    }
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace tinyptq
