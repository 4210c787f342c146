// Plan steps that run one graph node in float with the reference FP32 kernels (kernels/fp32/reference),
// image by image: the nodes the integer engine does not lower (Softmax, unmatched patterns).
#pragma once
#include <memory>
#include <vector>

#include "engine/int/plan.h"
#include "ir/graph.h"

namespace tinyptq::qdq {

// One input of a float node: an activation (a float row-major plan value, `shape` per image) or a
// constant (copied into the step), or omitted (neither).
struct FloatInput {
  int value = -1;
  const Tensor* constant = nullptr;
  Shape shape;
};

// A step computing node's output (per-image shape out_shape) from `inputs` (one per node input, in order).
// The step's inputs are the activation values in node order. Throws Error naming the node when the op or
// this combination of activations and constants is not supported.
std::unique_ptr<Step> float_step(const Node& node, const std::vector<FloatInput>& inputs,
                                 const Shape& out_shape);

}  // namespace tinyptq::qdq
