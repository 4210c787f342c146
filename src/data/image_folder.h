// Image folders: DIR/<class>/<image> (classes = the subdirectories sorted by name, label = position in that
// order; images sorted by name inside each class; samples class by class) or DIR/<image> (flat, no labels).
// Images are files named *.png, *.jpg or *.jpeg (any case), decoded by content (data/image_decode.h) when
// read(): RGB, resized to the target size by data/image_resize.h, then v' = (v * scale - mean[c]) / std[c]
// (the ArraySource formula, c = R, G, B) into 3 × H × W (NCHW) or H × W × 3 (NHWC) floats.
// Names starting with '.' and files with other extensions are skipped; "sorted" is byte order.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/data_source.h"

namespace tinyptq {

struct ImageFolderOptions {
  Layout layout = Layout::kNCHW;
  Preprocess preprocess;
  // Resize target (the model input's H, W). -1: no resize; every image must then have the first one's size.
  int64_t height = -1, width = -1;
  int64_t limit = -1;  // keep the first `limit` samples (-1: all)
};

class ImageFolderSource : public DataSource {
 public:
  // Lists the folder (decoding the first image only when no target size is given). Error naming the
  // folder or file: unreadable or missing folder, no images, a class folder without images or with a
  // subfolder, class folders and image files side by side, a target size out of range.
  ImageFolderSource(std::string dir, ImageFolderOptions opts);
  const std::string& path() const override { return dir_; }
  int64_t count() const override { return int64_t(files_.size()); }
  const Shape& sample_shape() const override { return shape_; }
  const std::vector<int>& labels() const override { return labels_; }
  int num_classes() const override { return int(class_names_.size()); }
  const std::vector<std::string>& class_names() const override { return class_names_; }
  // Decodes each listed file; Error naming the file when it is unreadable, not a PNG/JPEG, truncated,
  // damaged, CMYK, or (without a target size) of another size than the first image.
  void read(std::span<const int64_t> indices, float* out) const override;
  const std::vector<std::string>& files() const { return files_; }  // sample order

 private:
  std::string dir_;
  ImageFolderOptions opts_;
  std::vector<std::string> files_;
  std::vector<int> labels_;
  std::vector<std::string> class_names_;
  Shape shape_;
  bool resize_ = true;  // false: no target size given, images must match the first
};

}  // namespace tinyptq
