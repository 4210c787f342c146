// Where the quantization points of a prepared float graph are. Built from the per-op rules
// (quant_rules.h) and the recipe's per-layer overrides; consumed by calibration and the QDQ rewrite.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "quant/quant_rules.h"
#include "quant/recipe.h"

namespace tinyptq {

struct QuantLayer {
  int node = -1;     // index in Graph::nodes
  std::string name;  // node name
  Op op;
  OpRule rule;
  std::string output_value;   // quantized output (the fused Relu/Clip output if one follows)
  int fused_activation = -1;  // node index of the fused Relu/Clip, or -1
  bool float_output = false;  // QuantRecipe::float_logits: output_value is not quantized (stays float)
};

struct QuantPlan {
  std::vector<QuantLayer> layers;                  // compute nodes, topological order
  std::vector<std::string> act_values;             // values with their own params, topological order
  std::map<std::string, std::string> shared_with;  // pass-through output → value whose params it reuses
  std::vector<std::string> input_values;           // act values fed directly by the graph input (raw pixels)
  const QuantLayer* layer(const std::string& node_name) const;
};

// Values that reach a graph output through float (non-quantized) ops only, graph outputs included.
std::set<std::string> network_output_values(const Graph& g);

// Requires a prepared graph (prepare_for_quantization). Throws Error if nothing is quantizable.
QuantPlan plan_quantization(const Graph& g, const QuantRecipe& recipe);

}  // namespace tinyptq
