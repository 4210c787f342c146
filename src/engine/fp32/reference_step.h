// One graph node run with the reference FP32 kernels (src/kernels/fp32/reference): parameters made once per
// input shape, then a call that returns the node's output. The FP32 engine uses it for every operator it has
// no optimized step for (Transpose, Softmax, pools, BatchNormalization, Q/DQ simulation, ...).
#pragma once
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "kernels/fp32/reference/batchnorm.h"
#include "kernels/fp32/reference/concat.h"
#include "kernels/fp32/reference/conv2d.h"
#include "kernels/fp32/reference/elementwise_binary.h"
#include "kernels/fp32/reference/gemm.h"
#include "kernels/fp32/reference/global_averagepool.h"
#include "kernels/fp32/reference/matmul.h"
#include "kernels/fp32/reference/pad.h"
#include "kernels/fp32/reference/pool2d_params.h"
#include "kernels/fp32/reference/quantize_linear.h"
#include "kernels/fp32/reference/softmax.h"
#include "kernels/fp32/reference/transpose.h"

namespace tinyptq::fp32_engine {

using StepParams =
    std::variant<std::monostate, fp32_ref::Conv2dParams, fp32_ref::BatchNormParams, fp32_ref::BroadcastParams,
                 fp32_ref::Pool2dParams, fp32_ref::GlobalAveragePoolParams, fp32_ref::GemmParams,
                 fp32_ref::MatMulParams, fp32_ref::SoftmaxParams, fp32_ref::TransposeParams, fp32_ref::QuantParams,
                 fp32_ref::ConcatParams, fp32_ref::PadParams>;

// "node 'name' (Op)", the prefix of every error about a node.
std::string node_label(const Node& node);

// The quantized type a QuantizeLinear produces: its zero point's type, uint8 when the zero point is omitted.
DType quantized_type(const Tensor* zero_point);

// Kernel parameters of `node` for the value shapes of one input shape. Throws Error on inconsistent shapes.
StepParams make_step(const Node& node, const std::map<std::string, Shape>& shapes, const Graph& graph);

// Computes one node from its inputs (null for omitted ones). Throws Error on a wrong input dtype.
Tensor run_step(const Node& node, const StepParams& step, const Shape& out_shape,
                const std::vector<const Tensor*>& in);
// The same into y, reusing y's storage (y must not be one of the inputs).
void run_step_into(const Node& node, const StepParams& step, const Shape& out_shape,
                   const std::vector<const Tensor*>& in, Tensor& y);

}  // namespace tinyptq::fp32_engine
