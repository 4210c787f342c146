#include "quant/layer_runner.h"

#include <set>

#include "core/error.h"
#include "engine/fp32_engine.h"
#include "kernels/fp32/reference/concat.h"
#include "kernels/fp32/reference/elementwise_binary.h"
#include "quant/adaround/linear_layer.h"

namespace tinyptq {

namespace {

std::string label(const Node& n) { return "layer runner: node '" + n.name + "' (" + op_name(n.op) + ")"; }

bool is_weighted(const Graph& g, const Node& n) {
  return (n.op == Op::kConv || n.op == Op::kGemm) && n.inputs.size() >= 2 && g.is_initializer(n.inputs[1]) &&
         g.initializer(n.inputs[1])->dtype == DType::kFloat32;
}

// The node alone as a graph: its one activation input as the graph input, initializers copied (weight and
// bias replaced when given).
Tensor run_alone(const Graph& g, const Node& n, const Tensor& input, const std::string& input_name,
                 const Tensor* weight, const Tensor* bias) {
  Graph one;
  Shape s = input.shape;
  s[0] = -1;
  one.inputs.push_back({input_name, DType::kFloat32, s});
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const std::string& v = n.inputs[i];
    if (v.empty() || !g.is_initializer(v)) continue;
    one.initializers[v] = (i == 1 && weight) ? *weight : (i == 2 && bias && !bias->f.empty()) ? *bias : *g.initializer(v);
  }
  one.nodes.push_back(n);
  one.outputs.push_back({n.outputs[0], DType::kFloat32, {}});
  Fp32Engine engine(one);
  return std::move(engine.run(input)[0]);
}

}  // namespace

void run_graph(const Graph& g, std::map<std::string, Tensor>& values, const std::vector<std::string>& wanted,
               const RunnerHooks& hooks, int threads) {
  // Demand: walk back from the wanted values; a node is needed if an output is needed and not available.
  std::set<std::string> needed(wanted.begin(), wanted.end());
  std::vector<bool> run(g.nodes.size(), false);
  for (int k = int(g.nodes.size()) - 1; k >= 0; --k) {
    const Node& n = g.nodes[size_t(k)];
    bool need = false;
    for (const auto& o : n.outputs) need |= needed.count(o) && !values.count(o);
    if (!need) continue;
    run[size_t(k)] = true;
    for (const auto& in : n.inputs)
      if (!in.empty() && !g.is_initializer(in)) needed.insert(in);
  }
  // Last use of every value among the nodes that run.
  std::map<std::string, size_t> last_use;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (run[k])
      for (const auto& in : g.nodes[k].inputs) last_use[in] = k;
  std::set<std::string> keep(wanted.begin(), wanted.end());
  for (const auto& [name, t] : values) keep.insert(name);

  for (size_t k = 0; k < g.nodes.size(); ++k) {
    if (!run[k]) continue;
    const Node& n = g.nodes[k];
    check(n.outputs.size() == 1, label(n) + ": only single-output nodes are supported");
    std::vector<std::string> acts;
    for (const auto& in : n.inputs)
      if (!in.empty() && !g.is_initializer(in)) {
        check(values.count(in) != 0, label(n) + ": input '" + in + "' is not available");
        acts.push_back(in);
      }
    check(!acts.empty(), label(n) + ": no activation input");
    const Tensor& x = values.at(acts[0]);
    Tensor y;
    if (is_weighted(g, n)) {
      Tensor weight = *g.initializer(n.inputs[1]);
      Tensor bias;
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
        check(g.is_initializer(n.inputs[2]), label(n) + ": bias is not a constant");
        bias = *g.initializer(n.inputs[2]);
      }
      if (hooks.before_layer) hooks.before_layer(n, x, weight, bias);
      if (adaround::is_linear_layer(g, n) && acts.size() == 1) {
        const adaround::LinearLayer l = adaround::make_linear_layer(n, x.shape, weight.shape);
        check(bias.f.empty() || int64_t(bias.f.size()) == l.out_channels,
              label(n) + ": bias has " + std::to_string(bias.f.size()) + " values for " +
                  std::to_string(l.out_channels) + " outputs");
        Shape os = l.out_shape;
        os.insert(os.begin(), x.shape[0]);
        y = Tensor::zeros(os);
        adaround::linear_forward(l, x.f.data(), x.shape[0], weight.f.data(), bias.f.empty() ? nullptr : bias.f.data(),
                                 y.f.data(), threads);
      } else {
        check(acts.size() == 1, label(n) + ": several non-constant inputs");
        y = run_alone(g, n, x, acts[0], &weight, &bias);
      }
    } else if ((n.op == Op::kAdd || n.op == Op::kSub || n.op == Op::kMul) && acts.size() == 2) {
      const Tensor& b = values.at(acts[1]);
      const auto p = fp32_ref::make_broadcast_params(x.shape, b.shape);
      y = Tensor::zeros(p.out_shape);
      const auto op = n.op == Op::kAdd ? fp32_ref::BinaryOp::kAdd
                      : n.op == Op::kSub ? fp32_ref::BinaryOp::kSub
                                         : fp32_ref::BinaryOp::kMul;
      fp32_ref::elementwise_binary(p, op, x.f.data(), b.f.data(), y.f.data());  // acts keep the node's order
    } else if (n.op == Op::kConcat) {  // several activations (and constants) in the node's order
      std::vector<Shape> shapes;
      std::vector<const float*> xs;
      for (const auto& in : n.inputs) {
        const Tensor& t = g.is_initializer(in) ? *g.initializer(in) : values.at(in);
        check(t.dtype == DType::kFloat32, label(n) + ": input '" + in + "' is not float");
        shapes.push_back(t.shape);
        xs.push_back(t.f.data());
      }
      const auto p = fp32_ref::make_concat_params(shapes, n.attrs.axis);
      y = Tensor::zeros(p.out_shape);
      fp32_ref::concat(p, xs.data(), y.f.data());
    } else {
      check(acts.size() == 1, label(n) + ": several non-constant inputs");
      y = run_alone(g, n, x, acts[0], nullptr, nullptr);
    }
    if (hooks.after_value) hooks.after_value(n.outputs[0], y);
    values[n.outputs[0]] = std::move(y);
    for (const auto& in : n.inputs)
      if (auto it = last_use.find(in); it != last_use.end() && it->second == k && !keep.count(in)) values.erase(in);
  }
  for (const auto& w : wanted) check(values.count(w) != 0, "layer runner: value '" + w + "' was not produced");
}

}  // namespace tinyptq
