#include "quant/quant_plan.h"

#include <algorithm>
#include <set>

#include "core/error.h"

namespace tinyptq {

const QuantLayer* QuantPlan::layer(const std::string& node_name) const {
  for (const auto& l : layers)
    if (l.name == node_name) return &l;
  return nullptr;
}

namespace {

// Relu, or Clip with min 0 (ReLU6): folded into the producer's output clamp.
bool is_relu_like(const Node& n) {
  return n.op == Op::kRelu || (n.op == Op::kClip && n.attrs.clip_min == 0.0f);
}

}  // namespace

// Values that reach a graph output through float (non-quantized) ops only, graph outputs included.
std::set<std::string> network_output_values(const Graph& g) {
  std::set<std::string> out;
  for (const auto& o : g.outputs) out.insert(o.name);
  for (int k = int(g.nodes.size()) - 1; k >= 0; --k) {
    const Node& n = g.nodes[size_t(k)];
    if (node_rule(g, n).role != QuantRole::kFloat || !out.count(n.outputs[0])) continue;
    for (const auto& in : n.inputs)
      if (!in.empty() && !g.is_initializer(in)) {
        bool all_float = true;
        for (int c : g.consumers(in)) all_float &= out.count(g.nodes[size_t(c)].outputs[0]) != 0;
        if (all_float) out.insert(in);
      }
  }
  return out;
}

QuantPlan plan_quantization(const Graph& g, const QuantRecipe& recipe) {
  QuantPlan plan;
  std::set<std::string> quantized;  // values that carry quantization params (own or shared)
  std::set<int> fused;
  auto add_value = [&](const std::string& v) {
    if (quantized.insert(v).second) plan.act_values.push_back(v);
  };
  std::set<std::string> graph_inputs;
  for (const auto& in : g.inputs) graph_inputs.insert(in.name);
  const std::set<std::string> network_outputs = network_output_values(g);
  std::set<std::string> raw_input_values = graph_inputs;  // graph input and layout ops of it

  for (int k = 0; k < int(g.nodes.size()); ++k) {
    const Node& n = g.nodes[k];
    if (fused.count(k)) continue;
    OpRule rule = node_rule(g, n);
    auto ov = recipe.layers.find(n.name);
    if (ov != recipe.layers.end() && ov->second.keep_float) rule = {};
    const bool shared_pool = recipe.pool_shares_input && (n.op == Op::kAveragePool || n.op == Op::kMaxPool) &&
                             rule.role == QuantRole::kCompute && quantized.count(n.inputs[0]) &&
                             !graph_inputs.count(n.inputs[0]);
    if (shared_pool) rule.role = QuantRole::kPassThrough;
    if (rule.role == QuantRole::kPassThrough) {
      const std::string& in = n.inputs[0];
      if (raw_input_values.count(in)) raw_input_values.insert(n.outputs[0]);
      if (quantized.count(in) && !graph_inputs.count(in)) {
        plan.shared_with[n.outputs[0]] = in;
        quantized.insert(n.outputs[0]);
      }
      continue;
    }
    if (rule.role != QuantRole::kCompute) continue;
    QuantLayer layer{k, n.name, n.op, rule, n.outputs[0], -1};
    for (int a : rule.activation_inputs) {
      const std::string& v = n.inputs[a];
      if (plan.shared_with.count(v)) continue;  // quantized through a pass-through
      add_value(v);
      if (raw_input_values.count(v) &&
          std::find(plan.input_values.begin(), plan.input_values.end(), v) == plan.input_values.end())
        plan.input_values.push_back(v);
    }
    if (rule.fuses_relu) {
      auto cons = g.consumers(n.outputs[0]);
      bool is_output = std::any_of(g.outputs.begin(), g.outputs.end(),
                                   [&](const ValueInfo& o) { return o.name == n.outputs[0]; });
      if (cons.size() == 1 && !is_output && is_relu_like(g.nodes[cons[0]])) {
        layer.fused_activation = cons[0];
        layer.output_value = g.nodes[cons[0]].outputs[0];
        fused.insert(cons[0]);
      }
    }
    layer.float_output = recipe.float_logits && network_outputs.count(layer.output_value) != 0;
    if (!layer.float_output) add_value(layer.output_value);
    plan.layers.push_back(layer);
  }
  check(!plan.layers.empty(), "model has no quantizable layer (Conv, Gemm, MatMul, Add or pooling)");
  return plan;
}

}  // namespace tinyptq
