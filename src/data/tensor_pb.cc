#include "data/tensor_pb.h"

#include <onnx/onnx_pb.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "onnx/onnx_tensor.h"

namespace tinyptq {

namespace {
constexpr int64_t kMaxTensorBytes = int64_t(1) << 31;  // protobuf's own limit for one message
}  // namespace

Tensor parse_tensor_pb(std::string_view bytes, const std::string& label) {
  check(!bytes.empty(), label + ": empty file, not an ONNX TensorProto");
  check(int64_t(bytes.size()) < kMaxTensorBytes,
        label + ": file is too large (" + std::to_string(bytes.size()) + " bytes; the limit is 2 GiB)");
  onnx::TensorProto proto;
  check(proto.ParseFromArray(bytes.data(), int(bytes.size())),
        label + ": not a valid ONNX TensorProto (protobuf parsing failed: truncated or not a .pb tensor)");
  // Random bytes sometimes parse as a proto of unknown fields: a tensor must at least declare its type.
  check(proto.has_data_type() && proto.data_type() != onnx::TensorProto::UNDEFINED,
        label + ": not an ONNX TensorProto (no data_type)");
  try {
    return tensor_from_proto(proto, proto.name().empty() ? "tensor" : "tensor '" + proto.name() + "'");
  } catch (const Error& e) {
    throw Error(label + ": " + e.what());
  }
}

Tensor load_tensor_pb(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  check(fs::exists(path, ec), path + ": no such file");
  check(!fs::is_directory(path, ec), path + ": is a directory, not a .pb tensor");
  return parse_tensor_pb(read_file(path), path);  // read_file's errors name the path
}

std::string tensor_pb_bytes(const Tensor& t, const std::string& name) {
  onnx::TensorProto proto;
  tensor_to_proto(t, name, &proto);
  std::string out;
  check(proto.SerializeToString(&out), "serializing tensor '" + name + "' failed");
  return out;
}

bool has_pb_extension(const std::string& path) {
  return path.size() >= 3 && path.compare(path.size() - 3, 3, ".pb") == 0;
}

}  // namespace tinyptq
