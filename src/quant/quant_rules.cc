#include "quant/quant_rules.h"

namespace tinyptq {

OpRule quant_rule(Op op) {
  switch (op) {
    case Op::kConv:
    case Op::kGemm:
      return {QuantRole::kCompute, {0}, 1, 2, true};
    case Op::kMatMul:
      return {QuantRole::kCompute, {0}, 1, -1, true};
    case Op::kAdd:
      return {QuantRole::kCompute, {0, 1}, -1, -1, true};
    case Op::kSigmoid:
    case Op::kHardSigmoid:
    case Op::kHardSwish:
    case Op::kAveragePool:
    case Op::kGlobalAveragePool:
    case Op::kMaxPool:
      return {QuantRole::kCompute, {0}, -1, -1, false};
    case Op::kFlatten:
    case Op::kReshape:
    case Op::kTranspose:
      return {QuantRole::kPassThrough, {0}, -1, -1, false};
    default:
      return {};
  }
}

OpRule node_rule(const Graph& g, const Node& n) {
  OpRule r = quant_rule(n.op);
  if (r.role != QuantRole::kCompute) return r;
  for (int k : r.activation_inputs)
    if (k >= int(n.inputs.size()) || n.inputs[k].empty() || g.is_initializer(n.inputs[k])) return {};
  if (r.weight_input >= 0) {
    if (r.weight_input >= int(n.inputs.size()) || !g.is_initializer(n.inputs[r.weight_input])) return {};
    if (g.initializer(n.inputs[r.weight_input])->dtype != DType::kFloat32) return {};
  }
  if (r.bias_input >= 0 && r.bias_input < int(n.inputs.size()) && !n.inputs[r.bias_input].empty() &&
      !g.is_initializer(n.inputs[r.bias_input]))
    return {};
  return r;
}

}  // namespace tinyptq
