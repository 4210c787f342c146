// Choosing and opening a DataSource from --data PATH [--data-format F] [--labels FILE].
#pragma once
#include <memory>
#include <string>

#include "data/data_source.h"

namespace tinyptq {

enum class DataFormat { kAuto, kCifar10, kNpy, kNpz, kImageFolder, kTensorPb };
const char* data_format_name(DataFormat f);          // "auto", "cifar10", "npy", "npz", "images", "pb"
DataFormat parse_data_format(const std::string& s);  // inverse; Error listing the choices otherwise

// A directory is CIFAR-10 when looks_like_cifar10, else an image folder; a file is .npy / .npz by its first
// bytes (\x93NUMPY / PK), else by extension (.npy, .npz, and .pb: an ONNX TensorProto, which has no magic).
// Error naming the path when it does not exist or matches no format.
DataFormat detect_data_format(const std::string& path);

struct DataSpec {
  std::string path;
  DataFormat format = DataFormat::kAuto;
  std::string labels;          // a 1-D integer .npy; only for array formats
  Split split = Split::kTest;  // CIFAR-10 only
  int64_t limit = -1;          // keep the first `limit` samples (-1: all)
  // Image folders only: the resize target, the model input's H and W (-1: keep the images' own size).
  int64_t height = -1, width = -1;
};

// The resolved format (kAuto replaced by detect_data_format).
DataFormat resolve_format(const DataSpec& spec);
std::unique_ptr<DataSource> open_data_source(const DataSpec& spec, Layout layout, const Preprocess& p);

}  // namespace tinyptq
