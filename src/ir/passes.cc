#include "ir/passes.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/error.h"

namespace tinyptq {

namespace {

bool is_graph_output(const Graph& g, const std::string& v) {
  return std::any_of(g.outputs.begin(), g.outputs.end(), [&](const ValueInfo& o) { return o.name == v; });
}

void replace_uses(Graph& g, const std::string& from, const std::string& to) {
  for (auto& n : g.nodes)
    for (auto& v : n.inputs)
      if (v == from) v = to;
}

const Tensor* float_initializer(const Graph& g, const std::string& v) {
  const Tensor* t = g.initializer(v);
  return t && t->dtype == DType::kFloat32 && t->stored() == t->size() ? t : nullptr;
}

// Rank of value v when it follows from the graph without running it, else -1.
int known_rank(const Graph& g, const std::string& v, int depth = 0) {
  if (depth > 256) return -1;
  for (const auto& in : g.inputs)
    if (in.name == v) return in.shape.empty() ? -1 : int(in.shape.size());
  if (const Tensor* t = g.initializer(v)) return int(t->shape.size());
  const int p = g.producer(v);
  if (p < 0) return -1;
  const Node& n = g.nodes[size_t(p)];
  auto rank_of = [&](size_t slot) {
    return slot < n.inputs.size() && !n.inputs[slot].empty() ? known_rank(g, n.inputs[slot], depth + 1) : -1;
  };
  switch (n.op) {
    case Op::kFlatten:
    case Op::kGemm: return 2;
    case Op::kReshape: {
      const Tensor* s = n.inputs.size() > 1 ? g.initializer(n.inputs[1]) : nullptr;
      return s && s->shape.size() == 1 ? int(s->shape[0]) : -1;
    }
    case Op::kTranspose: return n.attrs.perm.empty() ? rank_of(0) : int(n.attrs.perm.size());
    case Op::kMatMul: return rank_of(0) == 2 && rank_of(1) == 2 ? 2 : -1;
    case Op::kAdd:
    case Op::kMul:
    case Op::kSub: {
      const int a = rank_of(0), b = rank_of(1);
      return a < 0 || b < 0 ? -1 : std::max(a, b);
    }
    default: return rank_of(0);  // the remaining ops keep their first input's rank
  }
}

// Name of the initializer in nodes[node].inputs[slot], made safe to modify: if anything else reads it
// (another input slot or a graph output), the node is rewired to a private copy.
std::string private_initializer(Graph& g, size_t node, size_t slot) {
  const std::string name = g.nodes[node].inputs[slot];
  int uses = is_graph_output(g, name) ? 1 : 0;
  for (const auto& n : g.nodes) uses += int(std::count(n.inputs.begin(), n.inputs.end(), name));
  if (uses == 1) return name;
  const std::string copy = g.unique_name(name + "_folded");
  g.initializers[copy] = g.initializers.at(name);
  g.nodes[node].inputs[slot] = copy;
  return copy;
}

// Permutes the axes of t: out.shape[d] = t.shape[perm[d]]; an empty perm reverses the axes.
Tensor transpose(const Tensor& t, std::vector<int64_t> perm, const std::string& where) {
  const size_t r = t.shape.size();
  if (perm.empty())
    for (size_t d = 0; d < r; ++d) perm.push_back(int64_t(r - 1 - d));
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (size_t d = 0; d < sorted.size(); ++d)
    check(sorted[d] == int64_t(d) && sorted.size() == r,
          where + ": perm does not match the input's shape " + shape_str(t.shape));
  Tensor out;
  out.dtype = t.dtype;
  for (int64_t p : perm) out.shape.push_back(t.shape[size_t(p)]);
  std::vector<int64_t> in_stride(r, 1);
  for (size_t d = r; d-- > 1;) in_stride[d - 1] = in_stride[d] * t.shape[d];
  const int64_t count = t.size();
  std::vector<int64_t> src(static_cast<size_t>(count));
  std::vector<int64_t> idx(r, 0);  // index into out, odometer order
  for (int64_t k = 0; k < count; ++k) {
    int64_t off = 0;
    for (size_t d = 0; d < r; ++d) off += idx[d] * in_stride[size_t(perm[d])];
    src[size_t(k)] = off;
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < out.shape[d]) break;
      idx[d] = 0;
    }
  }
  if (t.dtype == DType::kFloat32)
    for (int64_t s : src) out.f.push_back(t.f[size_t(s)]);
  else
    for (int64_t s : src) out.i.push_back(t.i[size_t(s)]);
  return out;
}

// ONNX Reshape target: 0 copies the input dim at that index, one -1 is inferred from the element count.
Tensor reshape(const Tensor& t, const Tensor& target, const std::string& where) {
  check(target.dtype == DType::kInt64 && target.shape.size() == 1,
        where + ": shape must be a 1-D int64 tensor");
  Shape shape;
  int infer = -1;
  for (size_t d = 0; d < target.i.size(); ++d) {
    int64_t v = target.i[d];
    if (v == 0) {
      check(d < t.shape.size(), where + ": shape has a 0 beyond the input's rank");
      v = t.shape[d];
    } else if (v == -1) {
      check(infer < 0, where + ": shape has more than one -1");
      infer = int(d);
      v = 1;
    }
    check(v >= 0, where + ": invalid dimension " + std::to_string(v) + " in shape");
    shape.push_back(v);
  }
  const int64_t count = t.size(), known = num_elements(shape);
  if (infer >= 0) {
    check(known > 0 && count % known == 0,
          where + ": cannot reshape " + shape_str(t.shape) + " to the shape given");
    shape[size_t(infer)] = count / known;
  }
  check(num_elements(shape) == count,
        where + ": cannot reshape " + shape_str(t.shape) + " to " + shape_str(shape));
  Tensor out = t;
  out.shape = shape;
  return out;
}

// Same-shape elementwise Add/Mul/Sub; nullopt when the shapes or dtypes differ or an integer result
// leaves its dtype's range (ONNX would wrap; we leave such nodes to the engine).
std::optional<Tensor> elementwise(Op op, const Tensor& a, const Tensor& b) {
  if (a.dtype != b.dtype || a.shape != b.shape) return std::nullopt;
  Tensor out = a;
  if (a.dtype == DType::kFloat32) {
    for (size_t k = 0; k < out.f.size(); ++k)
      out.f[k] = op == Op::kAdd ? a.f[k] + b.f[k] : op == Op::kMul ? a.f[k] * b.f[k] : a.f[k] - b.f[k];
    return out;
  }
  int64_t lo = INT64_MIN, hi = INT64_MAX;
  if (a.dtype == DType::kInt8) lo = -128, hi = 127;
  if (a.dtype == DType::kUint8) lo = 0, hi = 255;
  if (a.dtype == DType::kInt32) lo = INT32_MIN, hi = INT32_MAX;
  for (size_t k = 0; k < out.i.size(); ++k) {
    int64_t r;
    const bool overflow = op == Op::kAdd   ? __builtin_add_overflow(a.i[k], b.i[k], &r)
                          : op == Op::kMul ? __builtin_mul_overflow(a.i[k], b.i[k], &r)
                                           : __builtin_sub_overflow(a.i[k], b.i[k], &r);
    if (overflow || r < lo || r > hi) return std::nullopt;
    out.i[k] = r;
  }
  return out;
}

// The value node n computes when all its inputs are initializers and its op is foldable, else nullopt.
std::optional<Tensor> fold_node(const Graph& g, const Node& n) {
  if (n.outputs.size() != 1 || n.inputs.empty()) return std::nullopt;
  std::vector<const Tensor*> in;
  for (const auto& v : n.inputs) {
    const Tensor* t = v.empty() ? nullptr : g.initializer(v);
    if (!t || t->stored() != t->size()) return std::nullopt;
    in.push_back(t);
  }
  const std::string where = "node '" + n.name + "' (" + op_name(n.op) + ")";
  switch (n.op) {
    case Op::kIdentity: return *in[0];
    case Op::kTranspose: return transpose(*in[0], n.attrs.perm, where);
    case Op::kReshape:
      if (in.size() != 2) return std::nullopt;
      return reshape(*in[0], *in[1], where);
    case Op::kAdd:
    case Op::kMul:
    case Op::kSub:
      if (in.size() != 2) return std::nullopt;
      return elementwise(n.op, *in[0], *in[1]);
    default: return std::nullopt;
  }
}

}  // namespace

void remove_identities(Graph& g) {
  for (size_t k = 0; k < g.nodes.size();) {
    const Node& n = g.nodes[k];
    if (n.op != Op::kIdentity || n.inputs.size() != 1 || n.outputs.size() != 1) {
      ++k;
      continue;
    }
    const std::string x = n.inputs[0], y = n.outputs[0];
    if (!is_graph_output(g, y)) {
      replace_uses(g, y, x);
    } else {
      // y must keep its name: have x's producer write y instead, if x is a plain intermediate value.
      const int p = g.producer(x);
      if (p < 0 || is_graph_output(g, x)) {
        ++k;
        continue;
      }
      for (auto& o : g.nodes[size_t(p)].outputs)
        if (o == x) o = y;
      replace_uses(g, x, y);
    }
    g.nodes.erase(g.nodes.begin() + ptrdiff_t(k));
  }
}

void fuse_matmul_add(Graph& g) {
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const Node& mm = g.nodes[k];
    if (mm.op != Op::kMatMul || mm.inputs.size() != 2 || mm.outputs.size() != 1) continue;
    const Tensor* w = float_initializer(g, mm.inputs[1]);
    if (!w || w->shape.size() != 2 || known_rank(g, mm.inputs[0]) != 2) continue;
    const std::string y = mm.outputs[0];
    const std::vector<int> users = g.consumers(y);
    if (users.size() != 1 || is_graph_output(g, y)) continue;
    const Node& add = g.nodes[size_t(users[0])];
    if (add.op != Op::kAdd || add.inputs.size() != 2 || add.outputs.size() != 1) continue;
    const std::string& bias = add.inputs[0] == y ? add.inputs[1] : add.inputs[0];
    const Tensor* b = float_initializer(g, bias);
    const int64_t n_out = w->shape[1];
    if (!b || bias == y) continue;
    const bool bias_ok = (b->shape == Shape{n_out}) || (b->shape == Shape{1, n_out});
    if (!bias_ok) continue;
    Node gemm;
    gemm.op = Op::kGemm;
    gemm.name = mm.name;
    gemm.inputs = {mm.inputs[0], mm.inputs[1], bias};
    gemm.outputs = add.outputs;
    const size_t add_index = size_t(users[0]);
    g.nodes[k] = std::move(gemm);
    g.nodes.erase(g.nodes.begin() + ptrdiff_t(add_index));
  }
}

void fold_batchnorm(Graph& g) {
  for (size_t k = 0; k < g.nodes.size();) {
    const Node& bn = g.nodes[k];
    const int p = bn.op == Op::kBatchNormalization && bn.inputs.size() == 5 ? g.producer(bn.inputs[0]) : -1;
    if (p < 0 || (g.nodes[size_t(p)].op != Op::kConv && g.nodes[size_t(p)].op != Op::kGemm) ||
        g.consumers(bn.inputs[0]).size() != 1 ||
        is_graph_output(g, bn.inputs[0])) {
      ++k;
      continue;
    }
    const Node& conv = g.nodes[size_t(p)];
    const Tensor* w = float_initializer(g, conv.inputs.size() > 1 ? conv.inputs[1] : "");
    const bool has_bias = conv.inputs.size() > 2 && !conv.inputs[2].empty();
    const Tensor* b = has_bias ? float_initializer(g, conv.inputs[2]) : nullptr;
    // Conv: W [M, C/g, kh, kw], channel = row. Gemm (alpha = beta = 1, A not transposed): W [N, K] with
    // transB (channel = row) or [K, N] (channel = column); a bias must then be [N].
    const bool gemm = conv.op == Op::kGemm;
    const bool column = gemm && !conv.attrs.trans_b;
    int64_t m_out = w && w->shape.size() >= 3 && !gemm ? w->shape[0] : -1;
    if (gemm && w && w->shape.size() == 2 && !conv.attrs.trans_a && conv.attrs.alpha == 1.0f &&
        (!has_bias || conv.attrs.beta == 1.0f))
      m_out = column ? w->shape[1] : w->shape[0];
    bool ok = m_out > 0 && (!has_bias || (b && b->size() == m_out));
    const Tensor* params[4];  // γ, β, μ, σ²
    for (int j = 0; j < 4; ++j) {
      params[j] = float_initializer(g, bn.inputs[size_t(j) + 1]);
      ok = ok && params[j] && params[j]->size() == m_out;
    }
    if (!ok) {
      ++k;
      continue;
    }
    // Per-channel scale s = γ/√(σ²+ε) and new bias (b−μ)·s+β, in double.
    const double eps = bn.attrs.epsilon;
    std::vector<double> scale(static_cast<size_t>(m_out));
    std::vector<float> new_bias(static_cast<size_t>(m_out));
    for (int64_t m = 0; m < m_out; ++m) {
      const double s = double(params[0]->f[size_t(m)]) / std::sqrt(double(params[3]->f[size_t(m)]) + eps);
      const double b0 = has_bias ? double(b->f[size_t(m)]) : 0.0;
      scale[size_t(m)] = s;
      new_bias[size_t(m)] =
          float((b0 - double(params[2]->f[size_t(m)])) * s + double(params[1]->f[size_t(m)]));
    }
    const std::string w_name = private_initializer(g, size_t(p), 1);
    Tensor& wt = g.initializers.at(w_name);
    const int64_t per_channel = wt.size() / m_out;
    for (int64_t m = 0; m < m_out; ++m)
      for (int64_t j = 0; j < per_channel; ++j) {
        float& v = wt.f[size_t(column ? j * m_out + m : m * per_channel + j)];
        v = float(double(v) * scale[size_t(m)]);
      }
    std::string b_name;
    if (has_bias) {
      b_name = private_initializer(g, size_t(p), 2);
    } else {
      const Node& c = g.nodes[size_t(p)];
      b_name = g.unique_name((c.name.empty() ? c.outputs[0] : c.name) + ".bias");
      g.nodes[size_t(p)].inputs.resize(3);
      g.nodes[size_t(p)].inputs[2] = b_name;
    }
    g.initializers[b_name] = Tensor::from_floats({m_out}, std::move(new_bias));
    g.nodes[size_t(p)].outputs = {g.nodes[k].outputs.at(0)};
    g.nodes.erase(g.nodes.begin() + ptrdiff_t(k));
  }
}

void fold_constants(Graph& g) {
  for (size_t k = 0; k < g.nodes.size();) {
    const Node& n = g.nodes[k];
    std::optional<Tensor> value;
    if (n.outputs.size() == 1 && !is_graph_output(g, n.outputs[0])) value = fold_node(g, n);
    if (!value) {
      ++k;
      continue;
    }
    g.initializers[n.outputs[0]] = std::move(*value);
    g.nodes.erase(g.nodes.begin() + ptrdiff_t(k));
  }
}

void fold_pad_into_conv(Graph& g) {
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const Node& pad = g.nodes[k];
    const Attrs& a = pad.attrs;
    if (pad.op != Op::kPad || a.pad_mode != PadMode::kConstant || a.pad_value != 0.0f ||
        a.pad_amounts.size() != 8 || is_graph_output(g, pad.outputs[0]))
      continue;
    const auto& p = a.pad_amounts;  // [n, c, h, w] begins, then ends
    if (p[0] || p[1] || p[4] || p[5] || *std::min_element(p.begin(), p.end()) < 0) continue;
    const std::vector<int> users = g.consumers(pad.outputs[0]);
    bool foldable = !users.empty();
    for (int u : users) {
      const Node& c = g.nodes[size_t(u)];
      foldable = foldable && c.op == Op::kConv && c.inputs[0] == pad.outputs[0] &&
                 std::count(c.inputs.begin(), c.inputs.end(), pad.outputs[0]) == 1 &&
                 (c.attrs.auto_pad == AutoPad::kNotSet || c.attrs.auto_pad == AutoPad::kValid) &&
                 (c.attrs.pads.empty() || c.attrs.pads.size() == 4);
    }
    if (!foldable) continue;
    for (int u : users) {
      Node& c = g.nodes[size_t(u)];
      if (c.attrs.pads.empty() || c.attrs.auto_pad == AutoPad::kValid) c.attrs.pads = {0, 0, 0, 0};
      c.attrs.auto_pad = AutoPad::kNotSet;
      c.attrs.pads[0] += p[2], c.attrs.pads[1] += p[3], c.attrs.pads[2] += p[6], c.attrs.pads[3] += p[7];
      c.inputs[0] = pad.inputs[0];
    }
  }
}

void canonicalize(Graph& g) {
  remove_identities(g);
  fold_constants(g);
  fuse_matmul_add(g);  // first, so that a BatchNormalization after MatMul + Add folds into the Gemm
  fold_batchnorm(g);
  fold_pad_into_conv(g);
  g.remove_dead();
  g.validate_and_sort();
}

}  // namespace tinyptq
