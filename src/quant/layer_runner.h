// Runs a prepared float graph (prepare_for_quantization) over a whole batch of images node by node,
// keeping each value for the whole batch until its last consumer ran. Conv (2-D, group 1) and prepared
// Gemm nodes run on the im2col + matmul kernels of adaround/ (threaded, results independent of the
// thread count); Add/Sub/Mul of two activations run on the reference broadcasting kernel; every other
// node runs alone in the FP32 reference engine. Hooks let the caller replace a layer's weight and bias
// just before it runs (seeing its actual input) and rewrite every value right after it is produced — that
// is how the quantizer simulates a partially quantized network (fake-quantized activations, quantized
// weights) and how sensitivity analysis swaps one layer's weights.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace tinyptq {

struct RunnerHooks {
  // Called before a Conv/Gemm whose weight is an initializer runs, with its activation input; may replace
  // weight and bias (bias is empty when the node has none; a replacement must keep the shapes).
  std::function<void(const Node& node, const Tensor& input, Tensor& weight, Tensor& bias)> before_layer;
  // Called on every node output right after it is computed; may change it in place (same shape).
  std::function<void(const std::string& value, Tensor& t)> after_value;
};

// values: the available values (at least the graph input, or any set of values that cuts the graph),
// batch-first. Runs exactly the nodes needed to produce `wanted` from them, in topological order, and
// leaves `wanted` plus the starting values in `values` (intermediates are freed after their last use).
// Throws Error naming the node when a needed input is missing or a node is unsupported (a node other
// than Add/Sub/Mul with more than one non-constant input).
void run_graph(const Graph& g, std::map<std::string, Tensor>& values, const std::vector<std::string>& wanted,
               const RunnerHooks& hooks = {}, int threads = 2);

}  // namespace tinyptq
