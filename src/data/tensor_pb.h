// ONNX TensorProto files (.pb): one serialized onnx.TensorProto per file, the layout of the ONNX test data
// sets (test_data_set_0/input_0.pb, output_0.pb). Element types as in onnx_tensor (FLOAT, INT8, UINT8,
// INT32, INT64), raw_data or the typed fields. Rejected with an Error naming the file: an empty file, bytes
// that are not a TensorProto (garbage, truncated), a proto without data_type, an unsupported element type,
// a stored element count that differs from the dims, external data.
#pragma once
#include <string>
#include <string_view>

#include "core/tensor.h"

namespace tinyptq {

// One .pb file's bytes -> a Tensor; `label` names the source in errors.
Tensor parse_tensor_pb(std::string_view bytes, const std::string& label);
Tensor load_tensor_pb(const std::string& path);

// The serialized TensorProto of t (raw_data, little-endian), named `name` (may be empty).
std::string tensor_pb_bytes(const Tensor& t, const std::string& name = "");

// True when path ends in ".pb" (case-sensitive, as ONNX test data names them).
bool has_pb_extension(const std::string& path);

}  // namespace tinyptq
