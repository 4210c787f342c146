#include "quant/qdq_simulation.h"

#include "kernels/fp32/reference/quantize_linear.h"

namespace tinyptq {

Graph fold_constant_dequantize(Graph g) {
  for (size_t k = 0; k < g.nodes.size();) {
    const Node& n = g.nodes[k];
    bool constant = n.op == Op::kDequantizeLinear && n.inputs.size() >= 2 && n.outputs.size() == 1;
    for (const auto& v : n.inputs) constant = constant && !v.empty() && g.is_initializer(v);
    if (!constant) {
      ++k;
      continue;
    }
    const Tensor& q = *g.initializer(n.inputs[0]);
    const Tensor& scale = *g.initializer(n.inputs[1]);
    const Tensor* zp = n.inputs.size() > 2 ? g.initializer(n.inputs[2]) : nullptr;
    const auto p = fp32_ref::make_quant_params(q.shape, scale.shape, zp ? &zp->shape : nullptr, n.attrs.axis,
                                               DType::kInt32);
    Tensor w = Tensor::zeros(q.shape);
    fp32_ref::dequantize_linear(p, q.i.data(), scale.f.data(), zp ? zp->i.data() : nullptr, w.f.data());
    g.initializers[n.outputs[0]] = std::move(w);
    g.nodes.erase(g.nodes.begin() + ptrdiff_t(k));
  }
  g.remove_dead();
  return g;
}

}  // namespace tinyptq
