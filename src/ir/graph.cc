#include "ir/graph.h"

#include <algorithm>
#include <set>

#include "core/error.h"

namespace tinyptq {

namespace {
struct OpName {
  Op op;
  const char* name;
};
constexpr OpName kOpNames[] = {
    {Op::kConv, "Conv"}, {Op::kBatchNormalization, "BatchNormalization"}, {Op::kRelu, "Relu"},
    {Op::kClip, "Clip"}, {Op::kAdd, "Add"}, {Op::kMul, "Mul"}, {Op::kSub, "Sub"},
    {Op::kAveragePool, "AveragePool"}, {Op::kMaxPool, "MaxPool"},
    {Op::kGlobalAveragePool, "GlobalAveragePool"}, {Op::kFlatten, "Flatten"},
    {Op::kReshape, "Reshape"}, {Op::kTranspose, "Transpose"}, {Op::kGemm, "Gemm"},
    {Op::kMatMul, "MatMul"}, {Op::kSoftmax, "Softmax"}, {Op::kIdentity, "Identity"},
    {Op::kQuantizeLinear, "QuantizeLinear"}, {Op::kDequantizeLinear, "DequantizeLinear"},
};
}  // namespace

const char* op_name(Op op) {
  for (const auto& e : kOpNames)
    if (e.op == op) return e.name;
  return "?";
}

std::optional<Op> op_from_name(const std::string& name) {
  for (const auto& e : kOpNames)
    if (name == e.name) return e.op;
  return std::nullopt;
}

const Tensor* Graph::initializer(const std::string& v) const {
  auto it = initializers.find(v);
  return it == initializers.end() ? nullptr : &it->second;
}

int Graph::producer(const std::string& v) const {
  for (size_t k = 0; k < nodes.size(); ++k)
    for (const auto& o : nodes[k].outputs)
      if (o == v) return int(k);
  return -1;
}

std::vector<int> Graph::consumers(const std::string& v) const {
  std::vector<int> out;
  for (size_t k = 0; k < nodes.size(); ++k)
    if (std::find(nodes[k].inputs.begin(), nodes[k].inputs.end(), v) != nodes[k].inputs.end())
      out.push_back(int(k));
  return out;
}

void Graph::validate_and_sort() {
  std::set<std::string> available;
  for (const auto& in : inputs) {
    check(!in.name.empty(), "graph input with an empty name");
    check(available.insert(in.name).second, "graph input '" + in.name + "' is declared twice");
  }
  for (const auto& [name, t] : initializers) available.insert(name);
  std::set<std::string> produced;
  for (const auto& n : nodes)
    for (const auto& o : n.outputs) {
      if (o.empty()) continue;
      check(!available.count(o), "node '" + n.name + "' overwrites graph input or initializer '" + o + "'");
      check(produced.insert(o).second, "value '" + o + "' is produced more than once (node '" + n.name + "')");
    }
  // Kahn-style: repeatedly emit nodes whose inputs are all available.
  std::vector<Node> sorted;
  std::vector<bool> done(nodes.size(), false);
  size_t remaining = nodes.size();
  while (remaining > 0) {
    bool progress = false;
    for (size_t k = 0; k < nodes.size(); ++k) {
      if (done[k]) continue;
      bool ready = std::all_of(nodes[k].inputs.begin(), nodes[k].inputs.end(),
                               [&](const std::string& v) { return v.empty() || available.count(v); });
      if (!ready) continue;
      for (const auto& o : nodes[k].outputs) available.insert(o);
      sorted.push_back(nodes[k]);
      done[k] = true;
      --remaining;
      progress = true;
    }
    if (!progress) {
      for (size_t k = 0; k < nodes.size(); ++k) {
        if (done[k]) continue;
        for (const auto& v : nodes[k].inputs)
          if (!v.empty() && !available.count(v)) {
            if (produced.count(v))
              throw Error("graph has a cycle through node '" + nodes[k].name + "' (input '" + v + "')");
            throw Error("node '" + nodes[k].name + "' reads '" + v +
                        "', which is neither a graph input, an initializer nor a node output");
          }
      }
      throw Error("graph cannot be ordered");
    }
  }
  nodes = std::move(sorted);
  for (const auto& out : outputs)
    check(available.count(out.name), "graph output '" + out.name + "' is never produced");
  check(!outputs.empty(), "graph has no outputs");
}

void Graph::remove_dead() {
  // Fixpoint over the live set, so node order does not matter.
  std::set<std::string> live;
  for (const auto& o : outputs) live.insert(o.name);
  std::vector<bool> keep(nodes.size(), false);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t k = 0; k < nodes.size(); ++k) {
      if (keep[k]) continue;
      const auto& outs = nodes[k].outputs;
      if (!std::any_of(outs.begin(), outs.end(), [&](const std::string& o) { return live.count(o); })) continue;
      keep[k] = changed = true;
      for (const auto& v : nodes[k].inputs) live.insert(v);
    }
  }
  std::vector<Node> kept;
  for (size_t k = 0; k < nodes.size(); ++k)
    if (keep[k]) kept.push_back(std::move(nodes[k]));
  nodes = std::move(kept);
  for (auto it = initializers.begin(); it != initializers.end();)
    it = live.count(it->first) ? std::next(it) : initializers.erase(it);
}

std::string Graph::unique_name(const std::string& base) const {
  std::set<std::string> used;
  for (const auto& i : inputs) used.insert(i.name);
  for (const auto& [n, t] : initializers) used.insert(n);
  for (const auto& n : nodes) {
    used.insert(n.name);
    for (const auto& o : n.outputs) used.insert(o);
  }
  if (!used.count(base)) return base;
  for (int k = 1;; ++k) {
    std::string cand = base + "_" + std::to_string(k);
    if (!used.count(cand)) return cand;
  }
}

int64_t Graph::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, t] : initializers) n += t.stored();
  return n;
}

}  // namespace tinyptq
