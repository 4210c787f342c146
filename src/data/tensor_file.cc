#include "data/tensor_file.h"

#include <filesystem>

#include "core/error.h"
#include "data/npy.h"
#include "data/tensor_pb.h"

namespace tinyptq {

TensorFileFormat tensor_file_format(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".pb") return TensorFileFormat::kTensorPb;
  if (ext == ".npy") return TensorFileFormat::kNpy;
  throw Error(path + ": unknown tensor file type (expected .npy or an ONNX TensorProto .pb)");
}

Tensor load_tensor_file(const std::string& path) {
  return tensor_file_format(path) == TensorFileFormat::kTensorPb ? load_tensor_pb(path) : load_npy(path);
}

std::string tensor_file_bytes(const Tensor& t, TensorFileFormat format, const std::string& name) {
  return format == TensorFileFormat::kTensorPb ? tensor_pb_bytes(t, name) : npy_bytes(t);
}

const char* tensor_file_extension(TensorFileFormat format) {
  return format == TensorFileFormat::kTensorPb ? ".pb" : ".npy";
}

}  // namespace tinyptq
