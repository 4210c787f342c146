#include "engine/fp32/plan.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/error.h"
#include "engine/shape_inference.h"
#include "kernels/fp32/portable/conv_plan.h"
#include "kernels/fp32/portable/kernels_portable.h"

namespace tinyptq::fp32_engine {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

bool is_float_init(const Tensor* t) { return t && t->dtype == DType::kFloat32; }

// Builds steps over the nodes of one graph for one input shape.
class PlanBuilder {
 public:
  PlanBuilder(const Graph& g, const ValueTable& v, Plan& plan, const fp32::KernelTable& k)
      : g_(g), v_(v), plan_(plan), kernels_(k) {
    consumers_.resize(v.names.size());
    for (size_t n = 0; n < g.nodes.size(); ++n)
      for (int id : v.node_inputs[n])
        if (id >= 0) consumers_[id].push_back(int(n));
    is_output_.assign(v.names.size(), false);
    for (int id : v.output_ids) is_output_[id] = true;
  }

  // Chains are found in node order (a node joins at most one chain) and emitted at their last node, where
  // every value they read (a fused Add's other operand included) has been computed.
  void build(bool fuse) {
    const auto& nodes = g_.nodes;
    claimed_.assign(nodes.size(), false);
    std::vector<std::vector<int>> chain_ending_at(nodes.size());
    for (size_t n = 0; n < nodes.size(); ++n) {
      if (claimed_[n]) continue;
      std::vector<int> chain{int(n)};
      if (fuse && nodes[n].op == Op::kConv && conv_ok(int(n))) extend_conv_chain(chain);
      if (fuse && nodes[n].op == Op::kAdd && add_ok(int(n))) extend_clamp(chain);
      for (int c : chain) claimed_[c] = true;
      chain_ending_at[chain.back()] = std::move(chain);
    }
    for (size_t n = 0; n < nodes.size(); ++n) {
      const std::vector<int>& chain = chain_ending_at[n];
      if (chain.empty()) continue;
      const int head = chain.front();
      const Node& node = nodes[head];
      try {
        if (node.op == Op::kConv && conv_ok(head)) {
          emit_conv(chain);
        } else if (node.op == Op::kAdd && add_ok(head)) {
          emit_add(chain);
        } else if ((node.op == Op::kRelu || node.op == Op::kClip) && clamp_ok(head)) {
          emit_clamp(head);
        } else if (node.op == Op::kGemm && gemm_ok(head)) {
          emit_gemm(head);
        } else if (emit_mean(head) || emit_transpose2d(head)) {
          // emitted
        } else if ((node.op == Op::kIdentity || node.op == Op::kFlatten || node.op == Op::kReshape) &&
                   plan_.dtypes[v_.node_inputs[head][0]] == DType::kFloat32) {
          emit_copy(head);
        } else {
          emit_reference(head);
        }
      } catch (const Error& e) {
        throw Error(node_label(node) + ": " + e.what());
      }
    }
    share_phase_planes();
    if (fuse) write_outputs_as_planes();
  }

 private:
  const Shape& shape(int id) const { return plan_.shapes[id]; }
  const Tensor* init(const Node& node, size_t k) const {
    return k < node.inputs.size() && !node.inputs[k].empty() ? g_.initializer(node.inputs[k]) : nullptr;
  }
  bool float_value(int id) const { return id >= 0 && plan_.dtypes[id] == DType::kFloat32; }
  bool absent(const Node& node, size_t k) const { return k >= node.inputs.size() || node.inputs[k].empty(); }

  // The single node reading value id when it is not a graph output nor in another chain, else -1.
  int sole_consumer(int id) const {
    if (is_output_[id] || consumers_[id].size() != 1 || claimed_[consumers_[id][0]]) return -1;
    return consumers_[id][0];
  }

  bool conv_ok(int n) const {
    const Node& node = g_.nodes[n];
    return node.inputs.size() >= 2 && float_value(v_.node_inputs[n][0]) && is_float_init(init(node, 1)) &&
           (absent(node, 2) || is_float_init(init(node, 2)));
  }
  bool add_ok(int n) const {
    const auto& in = v_.node_inputs[n];
    return in.size() == 2 && float_value(in[0]) && float_value(in[1]) && shape(in[0]) == shape(in[1]);
  }
  // Relu, or Clip whose bounds are absent or non-empty float initializers.
  bool clamp_ok(int n) const {
    const Node& node = g_.nodes[n];
    if (!float_value(v_.node_inputs[n][0])) return false;
    if (node.op == Op::kRelu) return true;
    for (size_t k = 1; k < node.inputs.size(); ++k) {
      if (absent(node, k)) continue;
      const Tensor* t = init(node, k);
      if (!is_float_init(t) || t->f.empty()) return false;
    }
    return true;
  }
  bool gemm_ok(int n) const {
    const Node& node = g_.nodes[n];
    return !node.attrs.trans_a && node.inputs.size() >= 2 && float_value(v_.node_inputs[n][0]) &&
           is_float_init(init(node, 1)) && (absent(node, 2) || is_float_init(init(node, 2)));
  }
  void clamp_bounds(int n, float* lo, float* hi) const {
    const Node& node = g_.nodes[n];
    if (node.op == Op::kRelu) {
      *lo = 0.0f, *hi = kInf;
      return;
    }
    *lo = node.attrs.clip_min, *hi = node.attrs.clip_max;
    if (const Tensor* t = init(node, 1)) *lo = t->f[0];
    if (const Tensor* t = init(node, 2)) *hi = t->f[0];
  }

  // Appends the node reading the chain's current output if it is op (and the chain may end there).
  int next_in_chain(const std::vector<int>& chain) const {
    return sole_consumer(v_.node_output[chain.back()]);
  }
  void extend_clamp(std::vector<int>& chain) const {
    const int next = next_in_chain(chain);
    if (next < 0) return;
    const Op op = g_.nodes[next].op;
    if ((op == Op::kRelu || op == Op::kClip) && v_.node_inputs[next][0] == v_.node_output[chain.back()] &&
        clamp_ok(next))
      chain.push_back(next);
  }
  void extend_conv_chain(std::vector<int>& chain) const {
    int next = next_in_chain(chain);
    if (next >= 0 && g_.nodes[next].op == Op::kBatchNormalization) {
      const Node& bn = g_.nodes[next];
      bool ok = bn.inputs.size() == 5 && v_.node_inputs[next][0] == v_.node_output[chain.back()];
      for (size_t k = 1; ok && k < 5; ++k) ok = is_float_init(init(bn, k));
      if (ok) {
        chain.push_back(next);
        next = next_in_chain(chain);
      }
    }
    if (next >= 0 && g_.nodes[next].op == Op::kAdd && add_ok(next)) {
      const auto& in = v_.node_inputs[next];
      if (in[0] != in[1]) {
        chain.push_back(next);
        next = next_in_chain(chain);
      }
    }
    extend_clamp(chain);
  }

  // A Conv output that only implicit Convs read is written straight into their planes, so they copy
  // nothing: every Conv reading it as input must have the same planes (fp32::same_planes), and either those
  // are its rows with zero rows around them (stride 1, fp32::reads_padded_rows: residual reads then see a
  // channel-strided NCHW view), or the kernel scatters into stride-2 phase planes (no residual reads then).
  // Fused plans only: a tap sees dense values.
  void write_outputs_as_planes() {
    auto& steps = plan_.steps;
    auto with = [](const fp32::ConvPlan& c, auto edit) {
      fp32::ConvPlan copy = c;
      edit(copy);
      return std::make_shared<const fp32::ConvPlan>(std::move(copy));
    };
    for (Step& producer : steps) {
      if (producer.kind != StepKind::kConv || !producer.conv->implicit || is_output_[producer.output]) continue;
      const int v = producer.output;
      std::shared_ptr<const fp32::ConvPlan> reader;
      bool ok = true, residual_read = false;
      for (const Step& s : steps) {
        if (std::find(s.inputs.begin(), s.inputs.end(), v) == s.inputs.end()) continue;
        ok = ok && s.kind == StepKind::kConv && s.conv->implicit;
        if (!ok) break;
        if (s.inputs[1] == v) residual_read = true;
        if (s.inputs[0] != v) continue;
        ok = !reader || fp32::same_planes(*reader, *s.conv);
        reader = s.conv;
      }
      if (!ok || !reader) continue;
      const bool rows = fp32::reads_padded_rows(*reader);
      const bool scatter = !residual_read && kernels_.conv.writes_phase_planes &&
                           fp32::can_write_phase_planes(*producer.conv, *reader);
      if (!rows && !scatter) continue;
      const fp32::ConvPlan::Layout layout = fp32::planes_layout(*reader);
      producer.conv = with(*producer.conv, [&](fp32::ConvPlan& c) {
        if (rows) c.out = layout;
        else fp32::write_phase_planes_of(c, *reader);
      });
      producer.out_padding = fp32::plane_padding(*reader);
      for (Step& s : steps) {
        if (s.kind != StepKind::kConv || &s == &producer) continue;
        if (s.inputs[0] == v) s.input_is_planes = true;
        if (s.inputs[1] == v) s.conv = with(*s.conv, [&](fp32::ConvPlan& c) { c.res = layout; });
      }
    }
  }

  // Consecutive phased Convs of one input (a strided 3×3 and its 1×1 shortcut): the second adopts the first's
  // phase layout when its taps fit in it, the pair swapped first when only the other way fits. The two must
  // not read each other's output.
  void share_phase_planes() {
    auto& steps = plan_.steps;
    auto pair = [](Step& host, Step& guest) {
      fp32::ConvPlan c = *guest.conv;
      if (!fp32::adopt_phase_layout(c, *host.conv)) return false;
      guest.conv = std::make_shared<const fp32::ConvPlan>(std::move(c));
      guest.reuse_planes = true;
      return true;
    };
    for (size_t i = 0; i + 1 < steps.size(); ++i) {
      Step &a = steps[i], &b = steps[i + 1];
      if (a.kind != StepKind::kConv || b.kind != StepKind::kConv || a.inputs[0] != b.inputs[0] ||
          a.inputs[1] == b.output || b.inputs[1] == a.output)
        continue;
      if (pair(a, b)) {
        ++i;
      } else if (pair(b, a)) {
        std::swap(a, b);
        ++i;
      }
    }
  }

  Step& add_step(StepKind kind, const std::vector<int>& chain) {
    Step s;
    s.kind = kind;
    s.node = chain.front();
    s.output = v_.node_output[chain.back()];
    s.out_shape = shape(s.output);
    plan_.steps.push_back(std::move(s));
    return plan_.steps.back();
  }

  void emit_conv(const std::vector<int>& chain) {
    const int n = chain.front();
    const Node& conv = g_.nodes[n];
    const auto params = std::get<fp32_ref::Conv2dParams>(make_step(conv, plan_.shapes_by_name, g_));
    const int64_t M = params.out_channels, per_m = params.in_per_group * params.window.kernel_h *
                                                   params.window.kernel_w;
    std::vector<float> w = init(conv, 1)->f;
    std::vector<float> b(size_t(M), 0.0f);
    if (const Tensor* t = init(conv, 2)) {
      check(t->f.size() == size_t(M), "Conv bias has " + std::to_string(t->f.size()) + " values for " +
                                          std::to_string(M) + " output channels");
      b = t->f;
    }
    Step s;
    s.inputs = {v_.node_inputs[n][0], -1};
    float lo = -kInf, hi = kInf;
    for (size_t k = 1; k < chain.size(); ++k) {
      const int c = chain[k];
      const Node& node = g_.nodes[c];
      try {
        if (node.op == Op::kBatchNormalization) {
          const auto bn = std::get<fp32_ref::BatchNormParams>(make_step(node, plan_.shapes_by_name, g_));
          const float *scale = init(node, 1)->f.data(), *beta = init(node, 2)->f.data(),
                      *mean = init(node, 3)->f.data(), *var = init(node, 4)->f.data();
          // y = x·a + (β − μ·a), a = γ/√(σ² + ε), as the reference BatchNormalization; folded per channel.
          for (int64_t m = 0; m < M; ++m) {
            const float a = scale[m] / std::sqrt(var[m] + bn.epsilon);
            for (int64_t i = 0; i < per_m; ++i) w[m * per_m + i] *= a;
            b[m] = b[m] * a + (beta[m] - mean[m] * a);
          }
        } else if (node.op == Op::kAdd) {
          const auto& in = v_.node_inputs[c];
          s.inputs[1] = in[0] == v_.node_output[chain[k - 1]] ? in[1] : in[0];
        } else {
          clamp_bounds(c, &lo, &hi);
        }
      } catch (const Error& e) {
        throw Error(node_label(node) + ": " + e.what());
      }
    }
    auto plan = std::make_shared<fp32::ConvPlan>(fp32::make_conv_plan(params, w.data(), b.data(), lo, hi,
                                                                       kernels_.conv));
    Step& step = add_step(StepKind::kConv, chain);
    step.inputs = s.inputs;
    step.items = fp32::conv_items(*plan, params.batch);
    plan_.scratch_floats = std::max(plan_.scratch_floats, fp32::conv_scratch_floats(*plan));
    step.conv = std::move(plan);
  }

  void emit_add(const std::vector<int>& chain) {
    Step& s = add_step(StepKind::kAddClamp, chain);
    s.inputs = v_.node_inputs[chain.front()];
    s.lo = -kInf, s.hi = kInf;
    if (chain.size() > 1) clamp_bounds(chain.back(), &s.lo, &s.hi);
    elementwise(s);
  }
  void emit_clamp(int n) {
    Step& s = add_step(StepKind::kClamp, {n});
    s.inputs = {v_.node_inputs[n][0]};
    clamp_bounds(n, &s.lo, &s.hi);
    elementwise(s);
  }
  void emit_copy(int n) {
    make_step(g_.nodes[n], plan_.shapes_by_name, g_);
    Step& s = add_step(StepKind::kCopy, {n});
    s.inputs = {v_.node_inputs[n][0]};
    elementwise(s);
  }
  void elementwise(Step& s) {
    s.count = num_elements(s.out_shape);
    s.items = std::max<int64_t>(1, (s.count + kElementwiseChunk - 1) / kElementwiseChunk);
  }
  void emit_gemm(int n) {
    const Node& node = g_.nodes[n];
    const auto params = std::get<fp32_ref::GemmParams>(make_step(node, plan_.shapes_by_name, g_));
    const Tensor* c = init(node, 2);
    Step& s = add_step(StepKind::kGemm, {n});
    s.inputs = {v_.node_inputs[n][0]};
    s.gemm = std::make_shared<fp32::GemmPlan>(fp32::make_gemm_plan(params, init(node, 1)->f.data(),
                                                                   c ? c->f.data() : nullptr));
    s.items = std::max<int64_t>(1, params.m);
  }
  // Whole-input AveragePool (no pads, 1×1 output) or GlobalAveragePool of a float tensor: a kMean step.
  bool emit_mean(int n) {
    const Node& node = g_.nodes[n];
    if (!float_value(v_.node_inputs[n][0])) return false;
    int64_t planes = 0, size = 0;
    if (node.op == Op::kGlobalAveragePool) {
      const auto p = std::get<fp32_ref::GlobalAveragePoolParams>(make_step(node, plan_.shapes_by_name, g_));
      planes = p.batch * p.channels, size = p.inner;
    } else if (node.op == Op::kAveragePool) {
      const auto p = std::get<fp32_ref::Pool2dParams>(make_step(node, plan_.shapes_by_name, g_));
      const fp32_ref::Window2d& w = p.window;
      const bool whole = w.kernel_h == p.in_h && w.kernel_w == p.in_w && w.dilation_h == 1 && w.dilation_w == 1 &&
                         w.pad_top == 0 && w.pad_left == 0 && w.pad_bottom == 0 && w.pad_right == 0 &&
                         p.out_h == 1 && p.out_w == 1;
      if (!whole) return false;
      planes = p.batch * p.channels, size = p.in_h * p.in_w;
    } else {
      return false;
    }
    Step& s = add_step(StepKind::kMean, {n});
    s.inputs = {v_.node_inputs[n][0]};
    s.count = planes;
    s.cols = size;
    s.items = std::max<int64_t>(1, (planes + kMeanChunk - 1) / kMeanChunk);
    return true;
  }

  // A float Transpose with perm (0, k+1, ..., r−1, 1, ..., k), 0 < k < r − 1: per image, the [rows][cols]
  // matrix with rows = d1·…·dk, cols = d(k+1)·…·d(r−1) transposed (NHWC → NCHW is k = 2).
  bool emit_transpose2d(int n) {
    const Node& node = g_.nodes[n];
    const int in = v_.node_inputs[n][0];
    if (node.op != Op::kTranspose || !float_value(in)) return false;
    const Shape& x = shape(in);
    const auto& perm = node.attrs.perm;
    const int64_t r = int64_t(x.size());
    if (r < 3 || int64_t(perm.size()) != r || perm[0] != 0) return false;
    const int64_t k = perm[1] - 1;  // axes 1..k move to the end
    if (k < 1 || k >= r - 1) return false;
    for (int64_t d = 1; d < r; ++d)
      if (perm[d] != (d <= r - 1 - k ? d + k : d - (r - 1 - k))) return false;
    make_step(node, plan_.shapes_by_name, g_);  // validates as the reference would
    Step& s = add_step(StepKind::kTranspose2d, {n});
    s.inputs = {in};
    s.rows = num_elements(Shape(x.begin() + 1, x.begin() + 1 + k));
    s.cols = num_elements(Shape(x.begin() + 1 + k, x.end()));
    s.items = std::max<int64_t>(1, x[0]);
    return true;
  }

  void emit_reference(int n) {
    StepParams params = make_step(g_.nodes[n], plan_.shapes_by_name, g_);
    Step& s = add_step(StepKind::kReference, {n});
    s.inputs = v_.node_inputs[n];
    s.ref = std::move(params);
  }

  const Graph& g_;
  const ValueTable& v_;
  Plan& plan_;
  const fp32::KernelTable& kernels_;
  std::vector<std::vector<int>> consumers_;
  std::vector<bool> is_output_;
  std::vector<bool> claimed_;  // node belongs to a chain found earlier
};

// dtype of every value: initializers as stored, the input float, node outputs from their op.
std::vector<DType> value_dtypes(const Graph& g, const ValueTable& v) {
  std::vector<DType> d(v.names.size(), DType::kFloat32);
  for (size_t id = 0; id < v.names.size(); ++id)
    if (v.initializer[id]) d[id] = v.initializer[id]->dtype;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    const Node& node = g.nodes[n];
    DType t = DType::kFloat32;
    if (node.op == Op::kQuantizeLinear) {
      t = quantized_type(node.inputs.size() > 2 && !node.inputs[2].empty() ? g.initializer(node.inputs[2])
                                                                           : nullptr);
    } else if (node.op == Op::kIdentity || node.op == Op::kFlatten || node.op == Op::kReshape ||
               node.op == Op::kTranspose) {
      t = d[v.node_inputs[n][0]];
    }
    d[v.node_output[n]] = t;
  }
  return d;
}

}  // namespace

Plan make_plan(const Graph& graph, const ValueTable& values, const Shape& input_shape, bool fuse,
               const fp32::KernelTable& kernels) {
  Plan plan;
  plan.input_shape = input_shape;
  plan.fused = fuse;
  plan.shapes_by_name = infer_shapes(graph, input_shape);
  plan.shapes.resize(values.names.size());
  for (size_t id = 0; id < values.names.size(); ++id) {
    auto it = plan.shapes_by_name.find(values.names[id]);
    if (it != plan.shapes_by_name.end()) plan.shapes[id] = it->second;
  }
  plan.dtypes = value_dtypes(graph, values);
  PlanBuilder(graph, values, plan, kernels).build(fuse);

  // Slots: a step's output takes a free slot (never one of its own inputs'); a value's slot is freed after
  // the last step reading it. Graph outputs keep theirs.
  const size_t count = values.names.size();
  std::vector<int> last_use(count, -1);
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    last_use[plan.steps[s].output] = std::max(last_use[plan.steps[s].output], int(s));
    for (int v : plan.steps[s].inputs)
      if (v >= 0) last_use[v] = int(s);
  }
  std::vector<bool> keep(count, false);
  for (int v : values.output_ids) keep[v] = true;
  plan.slot.assign(count, -1);
  std::vector<int> free_slots;
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    const int out = plan.steps[s].output;
    if (free_slots.empty()) {
      plan.slot[out] = plan.slots++;
    } else {
      plan.slot[out] = free_slots.back();
      free_slots.pop_back();
    }
    std::vector<int> dying = plan.steps[s].inputs;
    dying.push_back(out);
    for (size_t k = 0; k < dying.size(); ++k) {
      const int v = dying[k];
      bool first = true;
      for (size_t j = 0; j < k; ++j) first = first && dying[j] != v;
      if (v >= 0 && first && plan.slot[v] >= 0 && !keep[v] && last_use[v] == int(s))
        free_slots.push_back(plan.slot[v]);
    }
  }
  // A pair run in one pass writes both outputs at once: they need distinct slots (a dead first output's
  // slot may have been handed to the second).
  for (size_t s = 1; s < plan.steps.size(); ++s) {
    Step& guest = plan.steps[s];
    if (guest.reuse_planes && plan.slot[guest.output] == plan.slot[plan.steps[s - 1].output]) guest.reuse_planes = false;
  }
  return plan;
}

bool batch_separable(const Graph& graph, const Shape& input_shape) {
  if (input_shape.empty()) return false;
  const int64_t n = input_shape[0];
  if (n == 1) return true;
  Shape one = input_shape;
  one[0] = 1;
  std::map<std::string, Shape> s1, sn;
  try {
    s1 = infer_shapes(graph, one);
    sn = infer_shapes(graph, input_shape);
  } catch (const Error&) {
    return false;
  }
  for (const Node& node : graph.nodes) {
    const Shape& a = s1.at(node.outputs[0]);
    const Shape& b = sn.at(node.outputs[0]);
    if (a.empty() || b.size() != a.size() || a[0] != 1 || b[0] != n) return false;
    for (size_t d = 1; d < a.size(); ++d)
      if (a[d] != b[d]) return false;
    const int64_t rank = int64_t(sn.at(node.inputs[0]).size());
    const int64_t axis = node.attrs.axis < 0 ? node.attrs.axis + rank : node.attrs.axis;
    switch (node.op) {
      case Op::kSoftmax:
      case Op::kConcat:
        if (axis == 0) return false;
        break;
      case Op::kPad:
        if (node.attrs.pad_amounts.size() != 2 * size_t(rank) || node.attrs.pad_amounts[0] != 0 ||
            node.attrs.pad_amounts[size_t(rank)] != 0)
          return false;
        break;
      case Op::kTranspose:
        if (node.attrs.perm.empty() ? rank > 1 : node.attrs.perm[0] != 0) return false;
        break;
      case Op::kQuantizeLinear:
      case Op::kDequantizeLinear:
        if (axis == 0 && node.inputs.size() > 1 && num_elements(sn.at(node.inputs[1])) > 1) return false;
        break;
      case Op::kGemm:
      case Op::kMatMul:
        if (node.attrs.trans_a && node.op == Op::kGemm) return false;
        if (node.inputs.size() < 2 || !graph.is_initializer(node.inputs[1])) return false;
        break;
      default: break;
    }
  }
  return true;
}

}  // namespace tinyptq::fp32_engine
