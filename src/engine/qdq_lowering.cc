#include "engine/qdq_lowering.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "core/error.h"
#include "engine/int/float_steps.h"
#include "engine/int/int_steps.h"
#include "engine/int/layout_steps.h"
#include "engine/int/qdq_params.h"
#include "engine/shape_inference.h"

namespace tinyptq {

namespace {

using qdq::Layout;
using qdq::QuantInfo;
using qdq::Value;

constexpr size_t kMaxRank = 8;  // the permute step's odometer

std::string label(const Node& n) { return "node '" + n.name + "' (" + op_name(n.op) + ")"; }

// How a graph value is available in the plan.
struct Binding {
  enum Kind { kFloat, kQuant, kDequantized, kConstant } kind = kFloat;
  int value =
      -1;  // kFloat / kQuant: the value; kDequantized: the quantized value DQ reads (with DQ's params)
};

// A matched op's output: optional Relu/Clip, then the QuantizeLinear whose output the op produces.
struct Tail {
  std::vector<int> nodes;  // fused node indices
  std::string output;      // the Q output
  QuantInfo quant;
  int8::OutputStage stage;
};

class Lowering {
 public:
  Lowering(const Graph& g, const int8::KernelTable& k, Requantization requant)
      : g_(g),
        k_(k),
        integer_(requant == Requantization::kInteger) {}

  qdq::Plan run() {
    infer_per_image_shapes();
    for (size_t n = 0; n < g_.nodes.size(); ++n)
      for (const auto& v : g_.nodes[n].inputs) consumers_[v].push_back(int(n));
    for (const auto& o : g_.outputs) graph_outputs_.insert(o.name);

    const ValueInfo& in = graph_image_input(g_);
    Value input;
    input.name = in.name;
    input.shape = shape_of(in.name);
    input.external = true;
    plan_.input = plan_.add_value(input);
    bindings_[in.name] = {Binding::kFloat, plan_.input};

    for (size_t n = 0; n < g_.nodes.size(); ++n) {
      if (fused_.count(int(n))) continue;
      const Node& node = g_.nodes[n];
      try {
        lower_node(int(n));
      } catch (const Error& e) {
        const std::string msg = e.what();
        if (msg.rfind("node '", 0) == 0) throw;
        throw Error(label(node) + ": " + msg);
      }
    }
    for (const auto& o : g_.outputs) plan_.outputs.push_back(output_value(o.name));
    return std::move(plan_);
  }

 private:
  // ---- shapes and graph structure ----

  void infer_per_image_shapes() {
    const ValueInfo& in = graph_image_input(g_);
    check(!in.shape.empty(), "graph input '" + in.name + "' has no declared shape");
    Shape one = in.shape, two = in.shape;
    one[0] = 1, two[0] = 2;
    for (size_t d = 1; d < one.size(); ++d)
      check(one[d] > 0, "graph input '" + in.name + "' has a symbolic dimension " + std::to_string(d) +
                            " (only the batch may be symbolic)");
    shapes_ = infer_shapes(g_, one);
    const auto shapes2 = infer_shapes(g_, two);
    dynamic_.insert(in.name);
    for (const Node& n : g_.nodes) {
      const bool dynamic = std::any_of(n.inputs.begin(), n.inputs.end(),
                                       [&](const std::string& v) { return dynamic_.count(v) != 0; });
      if (!dynamic) continue;  // a constant (e.g. a dequantized weight)
      dynamic_.insert(n.outputs[0]);
      const Shape& s1 = shapes_.at(n.outputs[0]);
      const Shape& s2 = shapes2.at(n.outputs[0]);
      check(!s1.empty() && s1[0] == 1 && s2[0] == 2 && num_elements(s2) == 2 * num_elements(s1),
            label(n) + ": output '" + n.outputs[0] + "' does not keep the batch on axis 0 (" + shape_str(s2) +
                " for 2 images); the integer engine runs images independently");
      check(s1.size() <= kMaxRank,
            label(n) + ": rank above " + std::to_string(kMaxRank) + " is not supported");
    }
  }

  const Shape& shape_of(const std::string& v) const { return shapes_.at(v); }

  bool single_use(const std::string& v) const {
    auto it = consumers_.find(v);
    return it != consumers_.end() && it->second.size() == 1 && !graph_outputs_.count(v);
  }
  int sole_consumer(const std::string& v) const { return consumers_.at(v)[0]; }

  const Binding& binding(const std::string& v) const {
    auto it = bindings_.find(v);
    check(it != bindings_.end(), "value '" + v + "' is not available");
    return it->second;
  }
  // The quantized value a DequantizeLinear output reads, or nullptr if `v` is not one.
  const Value* dequantized(const std::string& v) const {
    auto it = bindings_.find(v);
    if (it == bindings_.end() || it->second.kind != Binding::kDequantized) return nullptr;
    return &plan_.values[it->second.value];
  }

  // ---- plan building ----

  int add_step(std::unique_ptr<qdq::Step> step, std::vector<int> inputs, int output, std::string nodes,
               std::string detail = "") {
    step->inputs = std::move(inputs);
    step->output = output;
    step->nodes = std::move(nodes);
    step->detail = std::move(detail);
    return plan_.add(std::move(step));
  }

  int view(int of, const std::string& name, const Shape& shape, Layout layout) {
    Value v = plan_.values[of];
    v.name = name;
    v.shape = shape;
    v.layout = layout;
    v.view_of = of;
    v.external = false;
    return plan_.add_value(v);
  }

  int new_value(const std::string& name, const Shape& shape, Layout layout, const QuantInfo* quant) {
    Value v;
    v.name = name;
    v.shape = shape;
    v.layout = layout;
    v.quantized = quant != nullptr;
    if (quant) v.quant = *quant;
    return plan_.add_value(v);
  }

  // v in layout `layout`: itself, a view (only size-1 axes move) or a permuted copy; made once per value.
  int as_layout(int v, Layout layout) {
    if (plan_.values[v].layout == layout) return v;
    const auto key = std::make_pair(v, layout);
    if (auto it = layouts_.find(key); it != layouts_.end()) return it->second;
    const Value src = plan_.values[v];
    Value dst = src;
    dst.layout = layout;
    std::vector<int64_t> identity;
    for (int64_t d = 0; d < int64_t(src.shape.size()); ++d) identity.push_back(d);
    const auto p = qdq::storage_permutation(src, dst, identity);
    const std::string name = src.name + (layout == Layout::kNHWC ? "@nhwc" : "@rowmajor");
    int id;
    if (qdq::is_trivial_permutation(qdq::storage_dims(src), p)) {
      id = view(v, name, src.shape, layout);
    } else {
      id = new_value(name, src.shape, layout, src.quantized ? &src.quant : nullptr);
      add_step(qdq::permute_step(src.element_size(), qdq::storage_dims(src), p), {v}, id, "(layout)",
               layout == Layout::kNHWC ? "to NHWC" : "to row-major");
    }
    layouts_[key] = id;
    return id;
  }

  // The float value of a DequantizeLinear output (same layout as the quantized value), made once.
  int dequantize(const std::string& name, int qv) {
    if (auto it = dequantized_.find(qv); it != dequantized_.end()) return it->second;
    const Value q = plan_.values[qv];
    const int id = new_value(name, q.shape, q.layout, nullptr);
    add_step(qdq::dequantize_step(k_.dequantize, {q.quant.scale, q.quant.zero_point}, q.elements()), {qv}, id,
             name, "x: " + q.quant.str());
    dequantized_[qv] = id;
    return id;
  }

  // The float value of graph value v for a float consumer (any layout).
  int float_value(const std::string& v) {
    const Binding& b = binding(v);
    switch (b.kind) {
      case Binding::kFloat: return b.value;
      case Binding::kDequantized: return dequantize(v, b.value);
      case Binding::kQuant: throw Error("reads quantized value '" + v + "' without a DequantizeLinear");
      case Binding::kConstant: break;
    }
    throw Error("value '" + v + "' is a constant where an activation is expected");
  }

  const Tensor* constant(const std::string& v) {
    if (auto it = constants_.find(v); it != constants_.end()) return &it->second;
    auto t = qdq::float_constant(g_, v);
    check(t.has_value(), "input '" + v + "' is not a float constant");
    return &constants_.emplace(v, std::move(*t)).first->second;
  }

  // ---- tails ----

  std::optional<Tail> match_tail(const std::string& v, bool allow_activation) const {
    Tail t;
    std::string cur = v;
    float lo = -INFINITY, hi = INFINITY;
    if (!single_use(cur)) return std::nullopt;
    int c = sole_consumer(cur);
    const Node* n = &g_.nodes[c];
    if (allow_activation && (n->op == Op::kRelu || n->op == Op::kClip)) {
      if (n->op == Op::kRelu)
        lo = 0;
      else
        lo = n->attrs.clip_min, hi = n->attrs.clip_max;
      if (!(lo <= hi)) return std::nullopt;
      t.nodes.push_back(c);
      cur = n->outputs[0];
      if (!single_use(cur)) return std::nullopt;
      c = sole_consumer(cur);
      n = &g_.nodes[c];
    }
    if (n->op != Op::kQuantizeLinear || n->inputs[0] != cur) return std::nullopt;
    const auto q = qdq::activation_quant(g_, *n);
    if (!q) return std::nullopt;
    t.nodes.push_back(c);
    t.output = n->outputs[0];
    t.quant = *q;
    t.stage.zero_point = q->zero_point;
    t.stage.min = qdq::quantize_scalar(lo, *q);
    t.stage.max = qdq::quantize_scalar(hi, *q);
    return t;
  }

  std::string covered(int node, const Tail& t, int extra = -1) {
    std::string s = g_.nodes[node].name;
    if (extra >= 0) s += "+" + g_.nodes[extra].name, fused_.insert(extra);
    for (int n : t.nodes) s += "+" + g_.nodes[n].name, fused_.insert(n);
    return s;
  }

  int quant_output(const Tail& t, Layout layout) {
    const int id = new_value(t.output, shape_of(t.output), layout, &t.quant);
    bindings_[t.output] = {Binding::kQuant, id};
    return id;
  }

  static std::string clamp_str(const Tail& t) {
    if (t.stage.min == 0 && t.stage.max == 255) return "";
    return " clamp [" + std::to_string(t.stage.min) + "," + std::to_string(t.stage.max) + "]";
  }

  // ---- per-node lowering ----

  void lower_node(int n) {
    const Node& node = g_.nodes[n];
    if (!dynamic_.count(node.outputs[0])) {
      check(node.op == Op::kDequantizeLinear || node.op == Op::kIdentity,
            "computes a constant; only DequantizeLinear of initializers is folded (fold constants first)");
    }
    switch (node.op) {
      case Op::kQuantizeLinear: return lower_quantize(node);
      case Op::kDequantizeLinear: return lower_dequantize(node);
      case Op::kIdentity: bindings_[node.outputs[0]] = binding(node.inputs[0]); return;
      case Op::kConv:
        if (lower_conv(n)) return;
        break;
      case Op::kGemm:
        if (lower_gemm(n)) return;
        break;
      case Op::kMatMul:
        if (lower_matmul(n)) return;
        break;
      case Op::kAdd:
        if (lower_add(n)) return;
        break;
      case Op::kAveragePool:
      case Op::kMaxPool:
      case Op::kGlobalAveragePool:
        if (lower_pool(n)) return;
        break;
      case Op::kFlatten:
      case Op::kReshape:
      case Op::kTranspose:
        if (lower_quant_move(n)) return;
        break;
      default: break;
    }
    lower_float(node);
  }

  void lower_quantize(const Node& node) {
    const auto q = qdq::activation_quant(g_, node);
    check(q.has_value(), "per-axis activation quantization is not supported");
    const Binding& b = binding(node.inputs[0]);
    const std::string& out = node.outputs[0];
    if (b.kind == Binding::kDequantized) {  // Q(DQ(x)): requantize
      const Value src = plan_.values[b.value];
      int id;
      if (src.quant == *q) {
        id = view(b.value, out, src.shape, src.layout);
        plan_.values[id].quant = *q;
      } else {
        id = new_value(out, src.shape, src.layout, &*q);
        int8::RequantizeParams p{requantize_table(src.quant, q->scale, {q->zero_point, 0, 255})};
        add_step(qdq::requantize_step(k_.requantize, p, src.elements()), {b.value}, id, node.name,
                 src.quant.str() + " -> " + q->str());
      }
      bindings_[out] = {Binding::kQuant, id};
      return;
    }
    const int x = float_value(node.inputs[0]);
    const Value src = plan_.values[x];
    const int id = new_value(out, src.shape, src.layout, &*q);
    int8::QuantizeParams p{q->scale, {q->zero_point, 0, 255}};
    add_step(qdq::quantize_step(k_.quantize, p, src.elements()), {x}, id, node.name, "y: " + q->str());
    bindings_[out] = {Binding::kQuant, id};
  }

  void lower_dequantize(const Node& node) {
    const std::string& out = node.outputs[0];
    if (g_.is_initializer(node.inputs[0])) {
      bindings_[out] = {Binding::kConstant, -1};
      return;
    }
    const Binding& b = binding(node.inputs[0]);
    check(b.kind == Binding::kQuant, "input '" + node.inputs[0] + "' is not a quantized tensor");
    const auto q = qdq::activation_quant(g_, node);
    check(q.has_value(), "per-axis dequantization of an activation is not supported");
    const Value src = plan_.values[b.value];
    check(q->container == src.quant.container, std::string("zero point type ") + dtype_name(q->container) +
                                                   " differs from the quantized input's " +
                                                   dtype_name(src.quant.container));
    int v = b.value;
    if (!(src.quant == *q)) {
      v = view(b.value, src.name + "@" + out, src.shape, src.layout);
      plan_.values[v].quant = *q;
    }
    bindings_[out] = {Binding::kDequantized, v};
  }

  bool lower_conv(int n) {
    const Node& node = g_.nodes[n];
    const Value* x = dequantized(node.inputs[0]);
    if (!x || x->shape.size() != 4) return false;
    const auto w = qdq::quantized_weight(g_, node.inputs[1]);
    if (!w || w->shape.size() != 4 || w->axis > 0) return false;
    const auto tail = match_tail(node.outputs[0], true);
    if (!tail) return false;
    const Attrs r = resolved_pads(node, x->shape, w->shape);
    if (r.kernel_shape.size() != 2) return false;
    const int64_t out_c = w->shape[0];
    const auto shape = int8::make_conv_shape(x->shape[2], x->shape[3], x->shape[1], out_c, r.group,
                                             fp32_ref::window2d_from_attrs(r));
    std::vector<float> multipliers, bias_scales;
    std::vector<FixedPointMultiplier> fixed;
    std::vector<int32_t> zero_points;
    for (int64_t c = 0; c < out_c; ++c) {
      bias_scales.push_back(x->quant.scale * w->scale(c));
      multipliers.push_back(x->quant.scale * w->scale(c) / tail->quant.scale);
      if (integer_) fixed.push_back(fixed_multiplier(x->quant.scale, w->scale(c), tail->quant.scale));
      zero_points.push_back(w->zero_point(c));
    }
    std::vector<int32_t> bias(out_c, 0);
    if (node.inputs.size() > 2 && !node.inputs[2].empty()) {
      auto b = qdq::quantized_bias(g_, node.inputs[2], out_c, bias_scales);
      if (!b) return false;
      bias = std::move(*b);
    }
    if (!int8::fits_int32_accumulator(shape.taps(), bias.data(), out_c)) return false;

    const Value xq = *x;
    const int input = as_layout(bindings_.at(node.inputs[0]).value, Layout::kNHWC);
    int8::ConvParams p;
    p.shape = shape;
    p.input_zero_point = xq.quant.zero_point;
    p.output = tail->stage;
    auto runs = [&](const int8::ConvKernel& k) {
      return k.run && (!integer_ || k.fixed_point) && (!k.supports || k.supports(shape));
    };
    const int8::ConvKernel& kernel = shape.groups > 1 && runs(k_.depthwise) ? k_.depthwise
                                     : runs(k_.conv)                         ? k_.conv
                                                                             : int8::reference_kernels().conv;
    auto step = qdq::conv_step(kernel, p,
                               {w->data.data(), bias.data(), zero_points.data(), multipliers.data(),
                                integer_ ? fixed.data() : nullptr});
    const auto& win = shape.window;
    const std::string detail = "k" + std::to_string(win.kernel_h) + "x" + std::to_string(win.kernel_w) +
                               " s" + std::to_string(win.stride_h) + " g" + std::to_string(shape.groups) +
                               " w " + (w->axis < 0 ? "per-tensor" : "per-channel") +
                               " x: " + xq.quant.str() + clamp_str(*tail);
    const std::string nodes = covered(n, *tail);
    add_step(std::move(step), {input}, quant_output(*tail, Layout::kNHWC), nodes, detail);
    return true;
  }

  // Gemm/MatMul: x [1, K] per image times w given as [K, N] (k_major) or [N, K].
  bool lower_matrix(int n, const std::string& weight, bool k_major, const std::string& bias_name,
                    int bias_node, const Tail& tail) {
    const Node& node = g_.nodes[n];
    const Value* x = dequantized(node.inputs[0]);
    if (!x || x->shape.size() != 2) return false;
    const auto w = qdq::quantized_weight(g_, weight);
    if (!w || w->shape.size() != 2) return false;
    const int64_t k = k_major ? w->shape[0] : w->shape[1], cols = k_major ? w->shape[1] : w->shape[0];
    const int64_t channel_axis = k_major ? 1 : 0;
    if (x->shape[1] != k || (w->axis >= 0 && w->axis != channel_axis)) return false;
    std::vector<int8_t> data(cols * k);  // [n][k]
    for (int64_t j = 0; j < cols; ++j)
      for (int64_t i = 0; i < k; ++i) data[j * k + i] = k_major ? w->data[i * cols + j] : w->data[j * k + i];
    std::vector<float> multipliers, bias_scales;
    std::vector<FixedPointMultiplier> fixed;
    std::vector<int32_t> zero_points;
    for (int64_t j = 0; j < cols; ++j) {
      bias_scales.push_back(x->quant.scale * w->scale(j));
      multipliers.push_back(x->quant.scale * w->scale(j) / tail.quant.scale);
      if (integer_) fixed.push_back(fixed_multiplier(x->quant.scale, w->scale(j), tail.quant.scale));
      zero_points.push_back(w->zero_point(j));
    }
    std::vector<int32_t> bias(cols, 0);
    if (!bias_name.empty()) {
      auto b = qdq::quantized_bias(g_, bias_name, cols, bias_scales);
      if (!b) return false;
      bias = std::move(*b);
    }
    if (!int8::fits_int32_accumulator(k, bias.data(), cols)) return false;

    const Value xq = *x;
    int8::GemmParams p;
    p.k = k, p.n = cols;
    p.input_zero_point = xq.quant.zero_point;
    p.output = tail.stage;
    const int8::GemmKernel& g = k_.gemm;
    const int8::GemmKernel& kernel =
        (integer_ && !g.fixed_point) || (g.supports && !g.supports(p)) ? int8::reference_kernels().gemm : g;
    auto step = qdq::gemm_step(kernel, p,
                               {data.data(), bias.data(), zero_points.data(), multipliers.data(),
                                integer_ ? fixed.data() : nullptr},
                               xq.elements() / k);
    const std::string detail = std::to_string(k) + "x" + std::to_string(cols) + " w " +
                               (w->axis < 0 ? "per-tensor" : "per-channel") + " x: " + xq.quant.str() +
                               clamp_str(tail);
    const int input = bindings_.at(node.inputs[0]).value;
    const std::string nodes = covered(n, tail, bias_node);
    add_step(std::move(step), {input}, quant_output(tail, Layout::kRowMajor), nodes, detail);
    return true;
  }

  bool lower_gemm(int n) {
    const Node& node = g_.nodes[n];
    const Attrs& a = node.attrs;
    const bool has_c = node.inputs.size() > 2 && !node.inputs[2].empty();
    if (a.trans_a || a.alpha != 1.0f || (has_c && a.beta != 1.0f)) return false;
    const auto tail = match_tail(node.outputs[0], true);
    if (!tail) return false;
    return lower_matrix(n, node.inputs[1], !a.trans_b, has_c ? node.inputs[2] : "", -1, *tail);
  }

  bool lower_matmul(int n) {
    const Node& node = g_.nodes[n];
    const std::string& y = node.outputs[0];
    if (single_use(y)) {  // MatMul → Add(bias) → ...
      const int add = sole_consumer(y);
      const Node& a = g_.nodes[add];
      if (a.op == Op::kAdd && a.inputs.size() == 2) {
        const std::string& other = a.inputs[0] == y ? a.inputs[1] : a.inputs[0];
        const auto tail = match_tail(a.outputs[0], true);
        const auto w = qdq::quantized_weight(g_, node.inputs[1]);
        const bool constant_bias =
            g_.is_initializer(other) || (bindings_.count(other) && binding(other).kind == Binding::kConstant);
        if (tail && w && w->shape.size() == 2 && constant_bias) {
          if (lower_matrix(n, node.inputs[1], true, other, add, *tail)) return true;
        }
      }
    }
    const auto tail = match_tail(y, true);
    return tail && lower_matrix(n, node.inputs[1], true, "", -1, *tail);
  }

  bool lower_add(int n) {
    const Node& node = g_.nodes[n];
    const Value* a = dequantized(node.inputs[0]);
    const Value* b = dequantized(node.inputs[1]);
    if (!a || !b || a->shape != b->shape) return false;
    const auto tail = match_tail(node.outputs[0], true);
    if (!tail) return false;
    const Layout layout = a->layout == b->layout ? a->layout
                          : a->shape.size() == 4 ? Layout::kNHWC
                                                 : Layout::kRowMajor;
    const QuantInfo qa = a->quant, qb = b->quant;
    const int ia = as_layout(bindings_.at(node.inputs[0]).value, layout);
    const int ib = as_layout(bindings_.at(node.inputs[1]).value, layout);
    int8::AddParams p;
    p.a_zero_point = qa.zero_point, p.b_zero_point = qb.zero_point;
    p.a_multiplier = qa.scale / tail->quant.scale;
    p.b_multiplier = qb.scale / tail->quant.scale;
    p.output = tail->stage;
    if (integer_) int8::set_integer_add(p, qa.scale, qb.scale, tail->quant.scale);
    const std::string detail = "a: " + qa.str() + " b: " + qb.str() + clamp_str(*tail);
    const std::string nodes = covered(n, *tail);
    // Integer mode: k_'s Add where it computes the integer arithmetic too, else the reference's.
    const auto& add_kernel = arithmetic_kernel(&int8::KernelTable::add);
    add_step(qdq::add_step(add_kernel, p, plan_.values[ia].elements()), {ia, ib}, quant_output(*tail, layout),
             nodes, detail);
    return true;
  }

  bool lower_pool(int n) {
    const Node& node = g_.nodes[n];
    const Value* x = dequantized(node.inputs[0]);
    if (!x || x->shape.size() != 4) return false;
    const auto tail = match_tail(node.outputs[0], true);
    if (!tail) return false;
    const Value xq = *x;
    const int64_t channels = xq.shape[1], in_h = xq.shape[2], in_w = xq.shape[3];
    std::unique_ptr<qdq::Step> step;
    std::string detail = "x: " + xq.quant.str() + clamp_str(*tail);
    if (node.op == Op::kGlobalAveragePool) {
      int8::GlobalAvgPoolParams p;
      p.image_size = in_h * in_w, p.channels = channels;
      p.input_zero_point = xq.quant.zero_point;
      p.multiplier = xq.quant.scale / (tail->quant.scale * float(p.image_size));
      p.output = tail->stage;
      p.integer = integer_;
      p.same_quant = xq.quant == tail->quant;
      if (integer_)
        p.fixed = quantize_multiplier(double(xq.quant.scale) /
                                      (double(tail->quant.scale) * double(p.image_size)));
      step = qdq::global_avgpool_step(arithmetic_kernel(&int8::KernelTable::global_avgpool), p);
    } else {
      const Attrs r = resolved_pads(node, xq.shape);
      if (r.kernel_shape.size() != 2) return false;
      const auto shape = int8::make_pool_shape(in_h, in_w, channels, fp32_ref::window2d_from_attrs(r));
      detail =
          "k" + std::to_string(r.kernel_shape[0]) + "x" + std::to_string(r.kernel_shape[1]) + " " + detail;
      if (node.op == Op::kAveragePool) {
        int8::AvgPoolParams p;
        p.shape = shape;
        p.count_include_pad = r.count_include_pad;
        p.input_zero_point = xq.quant.zero_point;
        p.input_scale = xq.quant.scale, p.output_scale = tail->quant.scale;
        p.output = tail->stage;
        p.integer = integer_;
        step = qdq::avgpool_step(arithmetic_kernel(&int8::KernelTable::avgpool), p);
        if (r.count_include_pad) detail += " count_include_pad";
      } else {
        int8::MaxPoolParams p;
        p.shape = shape;
        const bool same = xq.quant == tail->quant && tail->stage.min == 0 && tail->stage.max == 255;
        p.table = same ? int8::identity_table() : requantize_table(xq.quant, tail->quant.scale, tail->stage);
        if (!same) detail += " requantized";
        step = qdq::maxpool_step(k_.maxpool, p);
      }
    }
    const int input = as_layout(bindings_.at(node.inputs[0]).value, Layout::kNHWC);
    const std::string nodes = covered(n, *tail);
    add_step(std::move(step), {input}, quant_output(*tail, Layout::kNHWC), nodes, detail);
    return true;
  }

  // Flatten / Reshape / Transpose / Identity of value `src` (float or quantized) into the node's output
  // shape: a view when the bytes stay in place, else a permuted copy. Named `name`.
  int move(int src, const Node& node, const std::string& name) {
    const Shape& out_shape = shape_of(node.outputs[0]);
    if (node.op != Op::kTranspose) {
      const int row = as_layout(src, Layout::kRowMajor);
      return view(row, name, out_shape, Layout::kRowMajor);
    }
    std::vector<int64_t> perm = node.attrs.perm;
    if (perm.empty())
      for (int64_t d = int64_t(out_shape.size()) - 1; d >= 0; --d) perm.push_back(d);
    const Value in = plan_.values[src];
    for (Layout layout : {Layout::kRowMajor, Layout::kNHWC}) {
      if (layout == Layout::kNHWC && out_shape.size() != 4) continue;
      Value cand = in;
      cand.shape = out_shape, cand.layout = layout;
      const auto p = qdq::storage_permutation(in, cand, perm);
      if (qdq::is_trivial_permutation(qdq::storage_dims(in), p)) return view(src, name, out_shape, layout);
    }
    Value out = in;  // a real transpose, into graph order
    out.shape = out_shape, out.layout = Layout::kRowMajor;
    const auto p = qdq::storage_permutation(in, out, perm);
    const int id = new_value(name, out_shape, out.layout, in.quantized ? &in.quant : nullptr);
    add_step(qdq::permute_step(in.element_size(), qdq::storage_dims(in), p), {src}, id, node.name,
             "transpose");
    return id;
  }

  bool lower_quant_move(int n) {
    const Node& node = g_.nodes[n];
    if (!dequantized(node.inputs[0])) return false;
    const auto tail = match_tail(node.outputs[0], false);
    if (!tail) return false;
    const int src = bindings_.at(node.inputs[0]).value;
    const QuantInfo in_quant = plan_.values[src].quant;
    const bool same = in_quant == tail->quant;
    const int moved = move(src, node, same ? tail->output : node.outputs[0]);
    int out = moved;
    if (!same) {
      const Value m = plan_.values[moved];
      out = new_value(tail->output, m.shape, m.layout, &tail->quant);
      int8::RequantizeParams p{requantize_table(in_quant, tail->quant.scale, tail->stage)};
      add_step(qdq::requantize_step(k_.requantize, p, m.elements()), {moved}, out, tail->output,
               in_quant.str() + " -> " + tail->quant.str());
    }
    plan_.values[out].quant = tail->quant;
    covered(n, *tail);
    bindings_[tail->output] = {Binding::kQuant, out};
    return true;
  }

  void lower_float(const Node& node) {
    const std::string& out = node.outputs[0];
    if (node.op == Op::kFlatten || node.op == Op::kReshape || node.op == Op::kTranspose) {
      bindings_[out] = {Binding::kFloat, move(float_value(node.inputs[0]), node, out)};
      return;
    }
    std::vector<qdq::FloatInput> inputs;
    std::vector<int> activations;
    for (const std::string& v : node.inputs) {
      qdq::FloatInput in;
      if (!v.empty()) {
        if (g_.is_initializer(v) || binding(v).kind == Binding::kConstant) {
          in.constant = constant(v);
          in.shape = in.constant->shape;
        } else if (binding(v).kind == Binding::kDequantized) {  // reorder the bytes, then dequantize
          in.value = dequantize(v, as_layout(binding(v).value, Layout::kRowMajor));
          in.shape = plan_.values[in.value].shape;
        } else {
          in.value = as_layout(float_value(v), Layout::kRowMajor);
          in.shape = plan_.values[in.value].shape;
        }
      }
      inputs.push_back(in);
    }
    auto step = qdq::float_step(node, inputs, shape_of(out));
    const std::vector<int> step_inputs = step->inputs;
    const int id = new_value(out, shape_of(out), Layout::kRowMajor, nullptr);
    add_step(std::move(step), step_inputs, id, node.name);
    bindings_[out] = {Binding::kFloat, id};
  }

  // ---- outputs ----

  int output_value(const std::string& name) {
    const Binding& b = binding(name);
    switch (b.kind) {
      case Binding::kFloat:
      case Binding::kQuant: return as_layout(b.value, Layout::kRowMajor);
      case Binding::kDequantized: return as_layout(dequantize(name, b.value), Layout::kRowMajor);
      case Binding::kConstant: break;
    }
    throw Error("graph output '" + name + "' is a constant");
  }

  // k_'s kernel for op, or in integer mode the reference one where k_'s does not compute the integer
  // arithmetic (Kernel::fixed_point; Conv and Gemm choose theirs by ConvKernel::fixed_point).
  template <typename Fn>
  const int8::Kernel<Fn>& arithmetic_kernel(int8::Kernel<Fn> int8::KernelTable::*op) const {
    const int8::Kernel<Fn>& fast = k_.*op;
    return integer_ && !fast.fixed_point ? int8::reference_kernels().*op : fast;
  }

  const Graph& g_;
  const int8::KernelTable& k_;
  const bool integer_;                // integer requantization (kernel_table.h, Requantization)
  qdq::Plan plan_;
  std::map<std::string, Shape> shapes_;  // per image
  std::map<std::string, std::vector<int>> consumers_;
  std::set<std::string> graph_outputs_;
  // QuantizeMultiplier(s_x·s_w/s_y), the product and quotient in double (TFLite's per-channel path).
  static FixedPointMultiplier fixed_multiplier(float x_scale, float w_scale, float y_scale) {
    return quantize_multiplier(double(x_scale) * double(w_scale) / double(y_scale));
  }
  // The table of a requantization between two quantizations, in the engine's arithmetic.
  std::array<uint8_t, 256> requantize_table(const QuantInfo& in, float out_scale,
                                            const int8::OutputStage& out) const {
    return integer_ ? int8::make_requantize_table_fixed(in.scale, in.zero_point, out_scale, out)
                    : int8::make_requantize_table(in.scale, in.zero_point, out_scale, out);
  }

  std::set<std::string> dynamic_;  // values that depend on the graph input
  std::map<std::string, Binding> bindings_;
  std::set<int> fused_;
  std::map<std::pair<int, Layout>, int> layouts_;
  std::map<int, int> dequantized_;  // quantized value → its float value
  std::map<std::string, Tensor> constants_;
};

}  // namespace

qdq::Plan lower_qdq_graph(const Graph& graph, const int8::KernelTable& kernels, Requantization requant) {
  return Lowering(graph, kernels, requant).run();
}

}  // namespace tinyptq
