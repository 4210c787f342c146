// Static shapes of every value of a graph for one concrete input shape (concrete batch N), checked op by op.
// Errors name the node: "node 'conv1' (Conv): Conv channel mismatch: ...".
#pragma once
#include <map>
#include <string>

#include "core/tensor.h"
#include "ir/graph.h"

namespace tinyptq {

// The graph's image input: its one input that is not an initializer. Throws Error unless there is exactly
// one.
const ValueInfo& graph_image_input(const Graph& graph);

// Checks `input_shape` against the declared shape of the image input: same rank, equal dims except the
// batch dim 0 (any N) and symbolic (-1) dims. Throws Error naming both shapes.
void check_input_shape(const Graph& graph, const Shape& input_shape);

// Shapes of the image input, every initializer and every node output, for the image input fed with
// `input_shape`. Nodes must be in topological order (Graph::validate_and_sort). Throws Error naming the
// node on inconsistent shapes (channel mismatch in Conv, bad Gemm dims, Reshape element count,
// non-broadcastable Add, ...), on a Reshape whose shape is not an int64 initializer, and on node outputs
// that are not supported (e.g. MaxPool's Indices).
std::map<std::string, Shape> infer_shapes(const Graph& graph, const Shape& input_shape);

// For Conv / AveragePool / MaxPool: the node's attributes with explicit geometry, for input shape x
// ([N, C, spatial...]) and, for Conv, weight shape w ([M, C/group, k...]; used when kernel_shape is absent).
// kernel_shape, strides (default 1s), dilations (default 1s) and pads ([begin..., end...], default 0s) are
// filled in and auto_pad becomes kNotSet:
//   VALID: pads 0.
//   SAME_UPPER / SAME_LOWER: out = ceil(in / stride),
//     total = max(0, (out − 1)·stride + dil·(k − 1) + 1 − in),
//     begin = total / 2 (SAME_UPPER: the extra pad at the end) or total − total / 2 (SAME_LOWER).
// With auto_pad set, ceil_mode is cleared (ONNX: the output size is then fixed by the formulas above).
// Throws Error naming the node on inconsistent attribute lengths.
Attrs resolved_pads(const Node& node, const Shape& x, const Shape& w = {});

}  // namespace tinyptq
