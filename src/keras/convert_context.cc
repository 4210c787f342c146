#include "keras/convert_context.h"

namespace tinyptq {

ConvertContext::ConvertContext(Graph& g, const KerasWeights& w, std::set<std::string> reserved)
    : graph(g), weights(w), used_(std::move(reserved)) {}

std::string ConvertContext::fresh(const std::string& base) {
  std::string name = base;
  for (int k = 1; used_.count(name); ++k) name = base + "_" + std::to_string(k);
  used_.insert(name);
  return name;
}

KerasValue ConvertContext::add_node(Op op, const std::string& node_name, std::vector<std::string> inputs,
                                    const Attrs& attrs, const std::string& output, Shape shape) {
  used_.insert(node_name);
  used_.insert(output);
  graph.nodes.push_back(Node{op, node_name, std::move(inputs), {output}, attrs});
  return {output, std::move(shape)};
}

std::string ConvertContext::add_initializer(const std::string& base, Tensor tensor) {
  std::string name = fresh(base);
  graph.initializers.emplace(name, std::move(tensor));
  return name;
}

KerasValue ConvertContext::add_activation(KerasActivation act, const KerasValue& in,
                                          const std::string& output, const std::string& layer_name) {
  Attrs attrs;
  switch (act) {
    case KerasActivation::kLinear:
      return in;
    case KerasActivation::kRelu:
      return add_node(Op::kRelu, fresh(layer_name + "/Relu"), {in.name}, attrs, output, in.shape);
    case KerasActivation::kRelu6:
      attrs.clip_min = 0.0f;
      attrs.clip_max = 6.0f;
      return add_node(Op::kClip, fresh(layer_name + "/Relu6"), {in.name}, attrs, output, in.shape);
    case KerasActivation::kSoftmax:
      attrs.axis = 1;
      return add_node(Op::kSoftmax, fresh(layer_name + "/Softmax"), {in.name}, attrs, output, in.shape);
    case KerasActivation::kSigmoid:
      return add_node(Op::kSigmoid, fresh(layer_name + "/Sigmoid"), {in.name}, attrs, output, in.shape);
    case KerasActivation::kHardSigmoid:  // Attrs defaults alpha 0.2, beta 0.5 are Keras 2's hard_sigmoid
      return add_node(Op::kHardSigmoid, fresh(layer_name + "/HardSigmoid"), {in.name}, attrs, output, in.shape);
    case KerasActivation::kHardSwish:
      return add_node(Op::kHardSwish, fresh(layer_name + "/HardSwish"), {in.name}, attrs, output, in.shape);
  }
  return in;
}

KerasValue ConvertContext::add_layer_node(const std::string& layer_name, Op op,
                                          std::vector<std::string> inputs, const Attrs& attrs, Shape shape,
                                          KerasActivation act) {
  const std::string out =
      act == KerasActivation::kLinear ? layer_name : fresh(layer_name + "/" + op_name(op));
  KerasValue v = add_node(op, layer_name, std::move(inputs), attrs, out, std::move(shape));
  return add_activation(act, v, layer_name, layer_name);
}

void rename_value(Graph& graph, const std::string& from, const std::string& to) {
  for (auto& node : graph.nodes) {
    for (auto& v : node.inputs)
      if (v == from) v = to;
    for (auto& v : node.outputs)
      if (v == from) v = to;
  }
}

}  // namespace tinyptq
