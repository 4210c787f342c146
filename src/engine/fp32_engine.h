// The FP32 engine: runs a graph with the float reference kernels (src/kernels/fp32/reference). Defines what
// "correct" means for every other engine. QuantizeLinear / DequantizeLinear run as float simulation (quantized
// values widened into Tensor::i), so QDQ graphs run too.
//
// Prepare (constructor) is separate from run: it validates and sorts the graph, checks every node, and builds
// the value table and the release plan (each intermediate is freed right after its last consumer ran). Kernel
// parameters depend on the input shape; they are computed on the first run with a given shape and reused.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace tinyptq {

class Fp32Engine {
 public:
  // Throws Error naming the node/value on an invalid graph or an unsupported node (wrong input count,
  // extra outputs, a Reshape shape that is not an int64 initializer, inconsistent shapes for the declared
  // input shape).
  explicit Fp32Engine(Graph graph);
  ~Fp32Engine();
  Fp32Engine(Fp32Engine&&) noexcept;
  Fp32Engine& operator=(Fp32Engine&&) noexcept;

  // Called with the graph input first, then with every node output right after it is computed.
  using Tap = std::function<void(const std::string& value, const Tensor& t)>;

  // input: float tensor shaped like the graph input with any batch N. Returns the graph outputs in order.
  // Throws Error on a bad input (dtype, shape) or when a node fails (message names the node).
  std::vector<Tensor> run(const Tensor& input, const Tap& tap = nullptr);

  const Graph& graph() const { return graph_; }

 private:
  struct Plan;  // kernel parameters for one input shape

  Graph graph_;
  int input_id_ = -1;
  std::vector<std::string> value_names_;             // value id → name
  std::vector<const Tensor*> initializer_of_;        // value id → initializer, or null
  std::vector<std::vector<int>> node_inputs_;        // per node: value ids, -1 for an omitted input
  std::vector<int> node_output_;                     // per node: value id of its output
  std::vector<std::vector<int>> release_after_;      // per node: intermediates whose last use it is
  std::vector<int> output_ids_;                      // graph outputs
  std::vector<Plan> plans_;                          // cached per input shape (a few at most)
};

}  // namespace tinyptq
