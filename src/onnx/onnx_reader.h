// ONNX → IR. Accepts the ways common converters write a small CNN: NCHW or NHWC input (+Transpose),
// BatchNormalization standalone or folded, Gemm or MatMul+Add, initializers as raw_data or typed fields,
// Constant nodes (turned into initializers), QDQ models (QuantizeLinear/DequantizeLinear).
#pragma once
#include <string>
#include <string_view>

#include "ir/graph.h"

namespace tinyptq {

// Reads and validates an ONNX model file. Throws Error naming `path` and the problem: unreadable,
// not an ONNX protobuf, unsupported operators (all of them listed), bad attributes, inconsistent
// initializers, cycles or dangling inputs.
Graph load_onnx(const std::string& path);

// Same, from bytes in memory; `label` names the source in error messages.
Graph onnx_bytes_to_graph(std::string_view bytes, const std::string& label);

}  // namespace tinyptq
