#include "export_c/integer_core.h"

namespace tinyptq::export_c {

IntegerCore integer_core(const Graph& g) {
  IntegerCore core{g, {}};
  Graph& c = core.graph;
  for (auto& out : c.outputs) {
    std::string v = out.name;
    std::vector<std::string> dropped;
    for (;;) {
      const int p = c.producer(v);
      if (p < 0) break;
      const Node& n = c.nodes[size_t(p)];
      if (n.op == Op::kSoftmax || n.op == Op::kIdentity) {
        dropped.push_back(std::string(op_name(n.op)) + " '" + n.name + "'");
        v = n.inputs[0];
        continue;
      }
      if (n.op == Op::kDequantizeLinear && c.producer(n.inputs[0]) >= 0 &&
          c.nodes[size_t(c.producer(n.inputs[0]))].op == Op::kQuantizeLinear) {
        dropped.push_back(std::string(op_name(n.op)) + " '" + n.name + "'");
        v = n.inputs[0];
        const Node& q = c.nodes[size_t(c.producer(v))];
        const Tensor* zp = q.inputs.size() > 2 ? c.initializer(q.inputs[2]) : nullptr;
        out.name = v;
        out.dtype = zp ? zp->dtype : DType::kUint8;
        core.dropped.insert(core.dropped.end(), dropped.begin(), dropped.end());
      }
      break;
    }
  }
  c.remove_dead();
  c.validate_and_sort();
  return core;
}

}  // namespace tinyptq::export_c
