// Tensor <-> onnx::TensorProto conversion, shared by the ONNX reader and writer.
#pragma once
#include <onnx/onnx_pb.h>

#include <optional>
#include <string>

#include "core/tensor.h"

namespace tinyptq {

// ONNX TensorProto.DataType for a DType, and the reverse (nullopt for types the IR does not hold).
int onnx_elem_type(DType t);
std::optional<DType> dtype_from_onnx(int elem_type);
// Name of an ONNX element type for messages ("FLOAT16", "DOUBLE", ...).
std::string onnx_elem_type_name(int elem_type);

// Decodes an initializer stored as little-endian raw_data or in the typed field (float_data; int32_data
// for int8/uint8/int32; int64_data). The declared element count must equal the stored count, which is
// checked before anything is allocated. External data, segments and unsupported types are rejected.
// Throws Error naming `what` (e.g. "initializer 'conv1.weight'").
Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& what);

// Encodes a tensor as raw_data (little-endian; int8/uint8 one byte per element). Throws Error if the
// stored data does not match the shape or an integer is out of its dtype's range.
void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* proto);

}  // namespace tinyptq
