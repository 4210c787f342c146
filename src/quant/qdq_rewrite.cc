#include "quant/qdq_rewrite.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace tinyptq {

namespace {

DType container_dtype(Container c) { return c == Container::kInt8 ? DType::kInt8 : DType::kUint8; }

// Adds scale and zero-point initializers; per-tensor params are scalars (shape []).
std::pair<std::string, std::string> add_param_initializers(Graph& g, const std::string& base,
                                                           const QParams& p, DType zp_type) {
  const bool per_axis = p.scale.size() > 1;
  const Shape shape = per_axis ? Shape{int64_t(p.scale.size())} : Shape{};
  const std::string s = g.unique_name(base + "_scale");
  g.initializers[s] = Tensor::from_floats(shape, p.scale);
  const std::string z = g.unique_name(base + "_zero_point");
  std::vector<int64_t> zps(p.zero_point.begin(), p.zero_point.end());
  g.initializers[z] = Tensor::from_ints(zp_type, shape, zps);
  return {s, z};
}

Node qdq_node(Op op, const std::string& name, const std::string& in, const std::string& scale,
              const std::string& zp, const std::string& out, int axis) {
  Node n{op, name, {in, scale, zp}, {out}, {}};
  n.attrs.axis = axis;
  return n;
}

void replace_input(Graph& g, const std::string& from, const std::string& to, const std::string& except_node) {
  for (auto& n : g.nodes)
    if (n.name != except_node)
      for (auto& in : n.inputs)
        if (in == from) in = to;
}

}  // namespace

Tensor quantize_bias(const Tensor& bias, float input_scale, const QParams& wp) {
  std::vector<int64_t> q(bias.f.size());
  for (size_t c = 0; c < bias.f.size(); ++c) {
    const double s = double(input_scale) * double(wp.scale[wp.scale.size() > 1 ? c : 0]);
    double v = std::nearbyint(double(bias.f[c]) / s);
    v = std::clamp(v, double(std::numeric_limits<int32_t>::min()),
                   double(std::numeric_limits<int32_t>::max()));
    q[c] = int64_t(v);
  }
  return Tensor::from_ints(DType::kInt32, bias.shape, std::move(q));
}

QdqModel rewrite_qdq(const Graph& src, const QuantPlan& plan, const std::map<std::string, QParams>& act,
                     const std::map<std::string, QuantizedWeight>& weights,
                     const std::map<std::string, Tensor>& biases) {
  QdqModel out;
  Graph& g = out.graph;
  g = src;
  // Every quantized value with its params: own values, then pass-through outputs (same params).
  std::vector<std::pair<std::string, QParams>> values;
  std::map<std::string, QParams> all = act;
  for (const auto& v : plan.act_values) {
    auto it = act.find(v);
    check(it != act.end(), "internal: no quantization parameters for '" + v + "'");
    values.emplace_back(v, it->second);
  }
  for (const auto& n : src.nodes)
    for (const auto& o : n.outputs) {
      auto sh = plan.shared_with.find(o);
      if (sh == plan.shared_with.end()) continue;
      const QParams p = all.at(sh->second);
      all[o] = p;
      values.emplace_back(o, p);
    }

  // Weights and biases.
  for (const auto& layer : plan.layers) {
    Node& n = g.nodes[layer.node];
    if (layer.rule.weight_input < 0) continue;
    auto wit = weights.find(layer.name);
    check(wit != weights.end(), "internal: no quantized weight for layer '" + layer.name + "'");
    const QuantizedWeight& w = wit->second;
    const std::string wq = g.unique_name(n.inputs[layer.rule.weight_input] + "_quantized");
    g.initializers[wq] = w.q;
    auto [ws, wz] = add_param_initializers(g, wq, w.params, w.q.dtype);
    const std::string wdq = g.unique_name(wq + "_dequantized");
    g.nodes.push_back(qdq_node(Op::kDequantizeLinear, wdq + "_node", wq, ws, wz, wdq, 0));
    Node& node = g.nodes[layer.node];  // push_back may have moved nodes
    node.inputs[layer.rule.weight_input] = wdq;

    const int bi = layer.rule.bias_input;
    if (bi < 0 || bi >= int(node.inputs.size()) || node.inputs[bi].empty()) continue;
    auto bit = biases.find(layer.name);
    const Tensor& bias = bit != biases.end() ? bit->second : *src.initializer(node.inputs[bi]);
    const float sx = all.at(node.inputs[layer.rule.activation_inputs[0]]).scale[0];
    const std::string bq = g.unique_name(node.inputs[bi] + "_quantized");
    g.initializers[bq] = quantize_bias(bias, sx, w.params);
    QParams bp;
    for (float s : w.params.scale) bp.scale.push_back(float(double(sx) * double(s)));
    bp.zero_point.assign(bp.scale.size(), 0);
    auto [bs, bz] = add_param_initializers(g, bq, bp, DType::kInt32);
    const std::string bdq = g.unique_name(bq + "_dequantized");
    g.nodes.push_back(qdq_node(Op::kDequantizeLinear, bdq + "_node", bq, bs, bz, bdq, 0));
    g.nodes[layer.node].inputs[bi] = bdq;
  }

  // Activations.
  for (const auto& [v, p] : values) {
    std::string value = v;
    bool is_output = false;
    for (auto& o : g.outputs) is_output |= (o.name == v);
    if (is_output) {  // keep the graph output's name on the dequantized value
      value = g.unique_name(v + "_float");
      for (auto& n : g.nodes) {
        for (auto& o : n.outputs)
          if (o == v) o = value;
        for (auto& in : n.inputs)
          if (in == v) in = value;
      }
    }
    const std::string q = g.unique_name(value + "_quantized");
    const std::string dq = is_output ? v : g.unique_name(value + "_dequantized");
    auto [s, z] = add_param_initializers(g, q, p, container_dtype(p.format.container));
    const std::string qname = g.unique_name(q + "_QuantizeLinear");
    replace_input(g, value, dq, "");
    g.nodes.push_back(qdq_node(Op::kQuantizeLinear, qname, value, s, z, q, 1));
    g.nodes.push_back(
        qdq_node(Op::kDequantizeLinear, g.unique_name(q + "_DequantizeLinear"), q, s, z, dq, 1));
    out.dequantized[v] = dq;
  }
  // Record narrowed bit widths so readers of the file know the real ranges.
  for (const auto& [name, w] : weights)
    if (w.bits < 8) g.metadata["tinyptq.wbits." + name] = std::to_string(w.bits);
  g.validate_and_sort();  // remove_dead needs topological order
  g.remove_dead();
  return out;
}

}  // namespace tinyptq
