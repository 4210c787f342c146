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

QuantizedWeight fit_bias_to_int32(const QuantizedWeight& w, const Tensor& bias, float input_scale) {
  QuantizedWeight out = w;
  const size_t scales = w.params.scale.size();
  const int64_t channels = w.q.shape.empty() ? 1 : w.q.shape[0];
  if (bias.f.empty() || channels <= 0) return out;
  const int64_t taps = int64_t(w.q.i.size()) / channels;
  const double limit = std::min(1073741824.0, 2147483647.0 - double(taps) * 131072.0);
  if (limit <= 0) return out;
  const int32_t lo = qmin(w.params.format), hi = qmax(w.params.format);
  for (size_t k = 0; k < scales; ++k) {
    double need = 0;  // the largest |b| / s_x this scale must carry
    for (size_t c = 0; c < bias.f.size(); ++c)
      if (scales == 1 || c == k) need = std::max(need, std::abs(double(bias.f[c])) / double(input_scale));
    const double s_old = double(w.params.scale[k]);
    if (need / s_old <= limit) continue;
    const double s_new = need / limit * (1.0 + 1e-6);
    out.params.scale[k] = float(s_new);
    const int32_t zp = w.params.zero_point[k];
    const int64_t first = scales == 1 ? 0 : int64_t(k) * taps, count = scales == 1 ? int64_t(w.q.i.size()) : taps;
    for (int64_t j = first; j < first + count; ++j) {
      const double real = double(w.q.i[size_t(j)] - zp) * s_old;
      out.q.i[size_t(j)] = std::clamp<int64_t>(int64_t(std::nearbyint(real / double(out.params.scale[k]))) + zp, lo, hi);
    }
  }
  return out;
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
    QuantizedWeight w = wit->second;
    const int bias_index = layer.rule.bias_input;
    if (bias_index >= 0 && bias_index < int(n.inputs.size()) && !n.inputs[bias_index].empty()) {
      auto b = biases.find(layer.name);
      const Tensor& bias = b != biases.end() ? b->second : *src.initializer(n.inputs[bias_index]);
      w = fit_bias_to_int32(w, bias, all.at(n.inputs[layer.rule.activation_inputs[0]]).scale[0]);
    }
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
