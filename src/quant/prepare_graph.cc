#include "quant/prepare_graph.h"

#include "core/error.h"
#include "ir/passes.h"

namespace tinyptq {

namespace {

// [K, N] → [N, K].
Tensor transposed_2d(const Tensor& w) {
  const int64_t k = w.shape[0], n = w.shape[1];
  Tensor t = Tensor::zeros({n, k});
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j) t.f[j * k + i] = w.f[i * n + j];
  return t;
}

void normalize_gemms(Graph& g) {
  for (auto& n : g.nodes) {
    const bool matmul = n.op == Op::kMatMul;
    if (n.op != Op::kGemm && !matmul) continue;
    if (n.inputs.size() < 2 || !g.is_initializer(n.inputs[1])) continue;
    const Tensor& w0 = *g.initializer(n.inputs[1]);
    if (w0.dtype != DType::kFloat32 || w0.shape.size() != 2 || n.attrs.trans_a) continue;
    if (matmul && g.initializer(n.inputs[1])->shape.size() != 2) continue;
    Tensor w = (matmul || !n.attrs.trans_b) ? transposed_2d(w0) : w0;
    for (float& v : w.f) v *= n.attrs.alpha;
    const std::string wname = g.unique_name(n.name + "_weight");
    g.initializers[wname] = std::move(w);
    n.inputs[1] = wname;
    if (!matmul && n.inputs.size() > 2 && !n.inputs[2].empty()) {
      const Tensor* c = g.initializer(n.inputs[2]);
      check(c != nullptr, "Gemm '" + n.name + "': non-constant C input is not supported");
      const int64_t out = g.initializers[wname].shape[0];
      check(c->stored() == out || c->stored() == 1,
            "Gemm '" + n.name + "': bias of shape " + shape_str(c->shape) + " is not per output");
      Tensor b = Tensor::zeros({out});
      for (int64_t j = 0; j < out; ++j) b.f[j] = n.attrs.beta * c->f[c->stored() == 1 ? 0 : j];
      const std::string bname = g.unique_name(n.name + "_bias");
      g.initializers[bname] = std::move(b);
      n.inputs[2] = bname;
    }
    n.op = Op::kGemm;
    n.attrs.alpha = 1.0f;
    n.attrs.beta = 1.0f;
    n.attrs.trans_b = true;
  }
}

}  // namespace

Graph prepare_for_quantization(const Graph& model) {
  Graph g = model;
  canonicalize(g);
  normalize_gemms(g);
  g.remove_dead();
  g.validate_and_sort();
  return g;
}

}  // namespace tinyptq
