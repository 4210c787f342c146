// One whole tensor in a file, by extension: .pb (ONNX TensorProto, see tensor_pb.h) or .npy (see npy.h).
#pragma once
#include <string>

#include "core/tensor.h"

namespace tinyptq {

enum class TensorFileFormat { kNpy, kTensorPb };

// .pb → kTensorPb, .npy → kNpy; Error naming the path for any other extension.
TensorFileFormat tensor_file_format(const std::string& path);
// Reads path in the format its extension names; readers' errors name the path.
Tensor load_tensor_file(const std::string& path);
// The file bytes of t in `format` (a TensorProto named `name`, or a .npy).
std::string tensor_file_bytes(const Tensor& t, TensorFileFormat format, const std::string& name = "");
const char* tensor_file_extension(TensorFileFormat format);  // ".npy" / ".pb"

}  // namespace tinyptq
