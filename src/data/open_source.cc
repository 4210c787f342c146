#include "data/open_source.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "data/image_folder.h"
#include "data/npy.h"

namespace tinyptq {

const char* data_format_name(DataFormat f) {
  switch (f) {
    case DataFormat::kAuto: return "auto";
    case DataFormat::kCifar10: return "cifar10";
    case DataFormat::kNpy: return "npy";
    case DataFormat::kNpz: return "npz";
    case DataFormat::kImageFolder: return "images";
  }
  return "?";
}

DataFormat parse_data_format(const std::string& s) {
  for (DataFormat f :
       {DataFormat::kAuto, DataFormat::kCifar10, DataFormat::kNpy, DataFormat::kNpz, DataFormat::kImageFolder})
    if (s == data_format_name(f)) return f;
  throw Error("--data-format must be auto, cifar10, npy, npz or images (got '" + s + "')");
}

DataFormat detect_data_format(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return looks_like_cifar10(path) ? DataFormat::kCifar10 : DataFormat::kImageFolder;
  check(fs::exists(path, ec), path + ": no such file or directory");
  char head[6] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(head, 6);
  const std::string magic(head, size_t(in.gcount()));
  if (magic == "\x93NUMPY") return DataFormat::kNpy;
  if (magic.rfind("PK", 0) == 0) return DataFormat::kNpz;
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".npy") return DataFormat::kNpy;
  if (ext == ".npz") return DataFormat::kNpz;
  throw Error(path +
              ": unknown data format (expected a CIFAR-10 directory, an image folder, a .npy or a .npz; see "
              "--data-format)");
}

DataFormat resolve_format(const DataSpec& spec) {
  return spec.format == DataFormat::kAuto ? detect_data_format(spec.path) : spec.format;
}

std::unique_ptr<DataSource> open_data_source(const DataSpec& spec, Layout layout, const Preprocess& p) {
  const DataFormat f = resolve_format(spec);
  if (f == DataFormat::kCifar10) {
    check(spec.labels.empty(), spec.labels + ": --labels is for array data; CIFAR-10 carries its own labels");
    return std::make_unique<CifarSource>(load_cifar10(spec.path, spec.split, spec.limit), layout, p);
  }
  if (f == DataFormat::kImageFolder) {
    check(spec.labels.empty(), spec.labels + ": --labels is for array data; an image folder takes its labels from "
                                             "its class subfolders");
    ImageFolderOptions o;
    o.layout = layout, o.preprocess = p, o.height = spec.height, o.width = spec.width, o.limit = spec.limit;
    return std::make_unique<ImageFolderSource>(spec.path, o);
  }
  // Array formats: the reader checks the bytes, whatever the extension says.
  Tensor x, y;
  bool have_y = false;
  if (f == DataFormat::kNpz) {
    NamedArrays arrays = load_npz(spec.path);
    const Tensor* px = nullptr;
    for (auto& [name, t] : arrays) {
      if (name == "x") px = &t;
      if (name == "y") y = t, have_y = true;
    }
    if (!px && arrays.size() == 1) px = &arrays[0].second;
    check(px != nullptr, spec.path + ": the .npz has no array named 'x' (samples 'x', optional labels 'y')");
    x = *px;
  } else {
    x = load_npy(spec.path);
  }
  if (!spec.labels.empty()) y = load_npy(spec.labels), have_y = true;
  if (!spec.labels.empty() && !x.shape.empty()) check_labels(y, x.shape[0], spec.labels);  // errors name the file
  if (spec.limit >= 0 && !x.shape.empty() && spec.limit < x.shape[0]) {
    x = slice_samples(x, spec.limit);
    if (have_y && !y.shape.empty() && y.shape[0] > spec.limit) y = slice_samples(y, spec.limit);
  }
  return std::make_unique<ArraySource>(spec.path, x, have_y ? &y : nullptr, layout, p);
}

}  // namespace tinyptq
