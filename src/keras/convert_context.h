// Shared state while converting Keras layers to IR nodes: the graph being built, the weights, the names
// in use, and the static shape of every converted tensor.
#pragma once
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "keras/keras_weights.h"
#include "keras/layer_configs.h"

namespace tinyptq {

// A converted Keras tensor: the graph value holding it and its static shape in IR layout — NCHW for
// images, [N, F] for features — with the batch N = -1.
struct KerasValue {
  std::string name;
  Shape shape;
};

class ConvertContext {
 public:
  // `reserved` (the Keras layer names) is never handed out by fresh(): each layer's output value is named
  // after its layer.
  ConvertContext(Graph& graph, const KerasWeights& weights, std::set<std::string> reserved);

  Graph& graph;
  const KerasWeights& weights;

  // A name not used yet for any value, node or initializer, derived from base.
  std::string fresh(const std::string& base);
  // Appends a one-output node and returns its output value.
  KerasValue add_node(Op op, const std::string& node_name, std::vector<std::string> inputs,
                      const Attrs& attrs, const std::string& output, Shape shape);
  // Adds an initializer named fresh(base) and returns that name.
  std::string add_initializer(const std::string& base, Tensor tensor);
  // Applies an activation to `in` (NCHW channel / feature axis 1), naming the result `output`;
  // linear returns `in` unchanged. relu6 is Clip(0, 6).
  KerasValue add_activation(KerasActivation act, const KerasValue& in, const std::string& output,
                            const std::string& layer_name);
  // Appends a layer's main node (named after the layer), then its fused activation; the last of them
  // outputs the value named after the layer.
  KerasValue add_layer_node(const std::string& layer_name, Op op, std::vector<std::string> inputs,
                            const Attrs& attrs, Shape shape, KerasActivation act = KerasActivation::kLinear);

 private:
  std::set<std::string> used_;
};

// Renames a value everywhere it occurs in the graph's nodes (inputs and outputs).
void rename_value(Graph& graph, const std::string& from, const std::string& to);

}  // namespace tinyptq
