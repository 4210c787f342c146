#include "ir/graph.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <set>
#include <unordered_map>

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
    {Op::kSigmoid, "Sigmoid"}, {Op::kHardSigmoid, "HardSigmoid"}, {Op::kHardSwish, "HardSwish"},
    {Op::kConcat, "Concat"}, {Op::kPad, "Pad"},
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
  std::unordered_map<std::string, size_t> producer_of;
  for (size_t k = 0; k < nodes.size(); ++k)
    for (const auto& o : nodes[k].outputs) {
      if (o.empty()) continue;
      const Node& n = nodes[k];
      check(!available.count(o), "node '" + n.name + "' overwrites graph input or initializer '" + o + "'");
      check(producer_of.emplace(o, k).second,
            "value '" + o + "' is produced more than once (node '" + n.name + "')");
    }
  // Kahn's algorithm, stable: among ready nodes the one with the smallest original index goes first, so
  // an already-sorted graph keeps its order. waiting[k] = inputs of node k (counted with repetition)
  // whose producer has not been emitted; a node reading an unknown value is never ready.
  std::vector<size_t> waiting(nodes.size(), 0);
  std::vector<bool> dangling(nodes.size(), false);
  std::unordered_map<std::string, std::vector<size_t>> readers;  // value → consumers, once per read
  for (size_t k = 0; k < nodes.size(); ++k)
    for (const auto& v : nodes[k].inputs) {
      if (v.empty() || available.count(v)) continue;
      if (!producer_of.count(v)) {
        dangling[k] = true;
        continue;
      }
      ++waiting[k];
      readers[v].push_back(k);
    }
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t k = 0; k < nodes.size(); ++k)
    if (waiting[k] == 0 && !dangling[k]) ready.push(k);
  std::vector<size_t> order;
  order.reserve(nodes.size());
  while (!ready.empty()) {
    const size_t k = ready.top();
    ready.pop();
    order.push_back(k);
    for (const auto& o : nodes[k].outputs) {
      available.insert(o);
      auto it = readers.find(o);
      if (it == readers.end()) continue;
      for (size_t r : it->second)
        if (--waiting[r] == 0 && !dangling[r]) ready.push(r);
    }
  }
  if (order.size() < nodes.size()) {
    // Blocked nodes wait on a value nothing produces, or (when none does) on a cycle. A dangling input is
    // reported first (its node in file order); otherwise, following first missing inputs backwards from
    // the first blocked node must revisit a node, and that node lies on a cycle.
    std::vector<bool> done(nodes.size(), false);
    for (size_t k : order) done[k] = true;
    auto first_missing = [&](size_t k) -> const std::string& {
      for (const auto& v : nodes[k].inputs)
        if (!v.empty() && !available.count(v)) return v;
      throw Error("graph cannot be ordered");
    };
    for (size_t k = 0; k < nodes.size(); ++k)
      if (!done[k] && dangling[k])
        for (const auto& v : nodes[k].inputs)
          if (!v.empty() && !available.count(v) && !producer_of.count(v))
            throw Error("node '" + nodes[k].name + "' reads '" + v +
                        "', which is neither a graph input, an initializer nor a node output");
    size_t k = std::find(done.begin(), done.end(), false) - done.begin();
    std::vector<bool> seen(nodes.size(), false);
    while (!seen[k]) {
      seen[k] = true;
      k = producer_of.at(first_missing(k));
    }
    throw Error("graph has a cycle through node '" + nodes[k].name + "' (input '" + first_missing(k) + "')");
  }
  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  for (size_t k : order) sorted.push_back(std::move(nodes[k]));
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
