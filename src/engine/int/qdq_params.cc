#include "engine/int/qdq_params.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "kernels/fp32/reference/quantize_linear.h"
#include "quant/qparams.h"

namespace tinyptq::qdq {

namespace {

std::string label(const Node& n) { return "node '" + n.name + "' (" + op_name(n.op) + ")"; }

const Tensor* input_initializer(const Graph& g, const Node& n, size_t k) {
  return k < n.inputs.size() && !n.inputs[k].empty() ? g.initializer(n.inputs[k]) : nullptr;
}

void check_scale(float s, const Node& n) {
  check(std::isfinite(s) && s > 0, label(n) + ": scale " + std::to_string(s) + " must be finite and > 0");
}

const Node* producer_node(const Graph& g, const std::string& name) {
  const int p = g.producer(name);
  return p < 0 ? nullptr : &g.nodes[p];
}

}  // namespace

std::optional<QuantInfo> activation_quant(const Graph& g, const Node& node) {
  const Tensor* scale = input_initializer(g, node, 1);
  check(scale != nullptr && scale->dtype == DType::kFloat32,
        label(node) + ": scale must be a float initializer");
  if (scale->stored() != 1) return std::nullopt;
  QuantInfo q;
  q.scale = scale->f[0];
  check_scale(q.scale, node);
  const bool has_zp = node.inputs.size() > 2 && !node.inputs[2].empty();
  if (has_zp) {
    const Tensor* zp = input_initializer(g, node, 2);
    check(zp != nullptr && (zp->dtype == DType::kUint8 || zp->dtype == DType::kInt8) && zp->stored() == 1,
          label(node) + ": zero point must be a one-element uint8/int8 initializer");
    q.container = zp->dtype;
    const int64_t lo = q.container == DType::kInt8 ? -128 : 0;
    check(zp->i[0] >= lo && zp->i[0] <= lo + 255, label(node) + ": zero point out of range");
    q.zero_point = int32_t(zp->i[0]) + q.container_shift();
  }
  return q;
}

std::optional<QuantWeight> quantized_weight(const Graph& g, const std::string& name) {
  const Node* dq = producer_node(g, name);
  if (!dq || dq->op != Op::kDequantizeLinear) return std::nullopt;
  const Tensor* w = input_initializer(g, *dq, 0);
  if (!w || (w->dtype != DType::kInt8 && w->dtype != DType::kUint8)) return std::nullopt;
  const Tensor* scale = input_initializer(g, *dq, 1);
  check(scale != nullptr && scale->dtype == DType::kFloat32,
        label(*dq) + ": scale must be a float initializer");
  const Tensor* zp = input_initializer(g, *dq, 2);
  const bool has_zp = dq->inputs.size() > 2 && !dq->inputs[2].empty();
  check(!has_zp || (zp != nullptr && zp->dtype == w->dtype && zp->stored() == scale->stored()),
        label(*dq) + ": zero point must be an initializer of the weight's type and the scale's size");

  QuantWeight q;
  q.shape = w->shape;
  const int64_t rank = int64_t(w->shape.size());
  if (scale->stored() != 1) {
    int64_t axis = dq->attrs.axis;
    check(axis >= -rank && axis < rank, label(*dq) + ": axis out of range");
    q.axis = axis < 0 ? axis + rank : axis;
    check(scale->shape.size() == 1 && scale->shape[0] == w->shape[q.axis],
          label(*dq) + ": per-axis scale " + shape_str(scale->shape) + " does not match weight " +
              shape_str(w->shape));
  }
  const int32_t shift = w->dtype == DType::kUint8 ? -128 : 0;  // uint8 → int8 domain
  const int64_t lo = w->dtype == DType::kInt8 ? -128 : 0, hi = lo + 255;
  for (int64_t c = 0; c < scale->stored(); ++c) {
    check_scale(scale->f[c], *dq);
    q.scales.push_back(scale->f[c]);
    const int64_t z = zp ? zp->i[c] : 0;
    check(z >= lo && z <= hi, label(*dq) + ": weight zero point " + std::to_string(z) + " out of range");
    q.zero_points.push_back(int32_t(z) + shift);
  }
  check(w->stored() == num_elements(w->shape), label(*dq) + ": weight data does not match its shape");
  q.data.reserve(w->i.size());
  for (int64_t v : w->i) {
    check(v >= lo && v <= hi, label(*dq) + ": weight value " + std::to_string(v) + " out of range");
    q.data.push_back(int8_t(v + shift));
  }
  return q;
}

std::optional<std::vector<int32_t>> quantized_bias(const Graph& g, const std::string& name, int64_t channels,
                                                   const std::vector<float>& bias_scales) {
  auto at = [](const auto& v, int64_t c) { return v[v.size() == 1 ? 0 : size_t(c)]; };
  std::vector<double> real;  // the bias in real units, one value or one per channel
  if (const Tensor* f = g.initializer(name)) {
    if (f->dtype != DType::kFloat32) return std::nullopt;
    real.assign(f->f.begin(), f->f.end());
  } else {
    const Node* dq = producer_node(g, name);
    if (!dq || dq->op != Op::kDequantizeLinear) return std::nullopt;
    const Tensor* b = input_initializer(g, *dq, 0);
    const Tensor* scale = input_initializer(g, *dq, 1);
    if (!b || b->dtype != DType::kInt32 || !scale || scale->dtype != DType::kFloat32) return std::nullopt;
    if (scale->stored() != 1 && scale->stored() != b->stored()) return std::nullopt;
    if (const Tensor* zp = input_initializer(g, *dq, 2))
      for (int64_t z : zp->i)
        if (z != 0) return std::nullopt;
    if (b->stored() != channels && b->stored() != 1) return std::nullopt;
    bool same_scale = true;
    for (int64_t c = 0; c < channels; ++c) {
      const double have = at(scale->f, c), want = at(bias_scales, c);
      same_scale = same_scale && std::abs(have - want) <= 1e-5 * want;
    }
    if (same_scale) {
      std::vector<int32_t> out;
      for (int64_t c = 0; c < channels; ++c) out.push_back(int32_t(at(b->i, c)));
      return out;
    }
    for (int64_t c = 0; c < b->stored(); ++c) real.push_back(double(b->i[c]) * at(scale->f, c));
  }
  if (int64_t(real.size()) != channels && real.size() != 1) return std::nullopt;
  constexpr double kLimit = double(std::numeric_limits<int32_t>::max());
  std::vector<int32_t> out;
  for (int64_t c = 0; c < channels; ++c) {
    const double q = std::nearbyint(at(real, c) / double(at(bias_scales, c)));
    out.push_back(std::isnan(q) ? 0 : int32_t(std::clamp(q, -kLimit, kLimit)));
  }
  return out;
}

std::optional<Tensor> float_constant(const Graph& g, const std::string& name) {
  if (const Tensor* t = g.initializer(name)) {
    if (t->dtype != DType::kFloat32) return std::nullopt;
    return *t;
  }
  const Node* dq = producer_node(g, name);
  if (!dq || dq->op != Op::kDequantizeLinear) return std::nullopt;
  const Tensor* x = input_initializer(g, *dq, 0);
  const Tensor* scale = input_initializer(g, *dq, 1);
  if (!x || !is_integer(x->dtype) || !scale || scale->dtype != DType::kFloat32) return std::nullopt;
  const Tensor* zp = input_initializer(g, *dq, 2);
  try {
    const auto p = fp32_ref::make_quant_params(x->shape, scale->shape, zp ? &zp->shape : nullptr,
                                               dq->attrs.axis, x->dtype);
    Tensor out = Tensor::zeros(x->shape);
    fp32_ref::dequantize_linear(p, x->i.data(), scale->f.data(), zp ? zp->i.data() : nullptr, out.f.data());
    return out;
  } catch (const Error& e) {
    throw Error(label(*dq) + ": " + e.what());
  }
}

int32_t quantize_scalar(float v, const QuantInfo& q) {
  return quantize_value(v, q.scale, q.zero_point, 0, 255);
}

}  // namespace tinyptq::qdq
