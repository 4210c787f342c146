#include "data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/image_decode.h"
#include "data/image_resize.h"

namespace tinyptq {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMaxSide = 1 << 16;

struct Entry {
  std::string name;
  bool is_dir = false;
};

bool is_image_name(const std::string& name) {
  std::string ext = fs::path(name).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

// Subdirectories and image files of dir, sorted by name; hidden names and other files skipped.
std::vector<Entry> list_dir(const std::string& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  if (ec) throw Error(dir + ": cannot read the folder (" + ec.message() + ")");
  std::vector<Entry> out;
  for (; it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code sec;
    const bool is_dir = it->is_directory(sec);
    if (is_dir || is_image_name(name)) out.push_back({name, is_dir});
  }
  if (ec) throw Error(dir + ": cannot read the folder (" + ec.message() + ")");
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return out;
}

}  // namespace

ImageFolderSource::ImageFolderSource(std::string dir, ImageFolderOptions opts) : dir_(std::move(dir)), opts_(opts) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  std::error_code ec;
  check(fs::is_directory(dir_, ec), dir_ + ": no such folder");
  const bool sized = opts_.height > 0 || opts_.width > 0;
  check(!sized || (opts_.height > 0 && opts_.height <= kMaxSide && opts_.width > 0 && opts_.width <= kMaxSide),
        dir_ + ": image target size " + std::to_string(opts_.height) + "x" + std::to_string(opts_.width) +
            " is outside 1..65536");

  std::vector<std::string> classes, flat;
  for (const Entry& e : list_dir(dir_)) (e.is_dir ? classes : flat).push_back(e.name);
  check(classes.empty() || flat.empty(), dir_ + ": holds both class folders (e.g. '" +
                                             (classes.empty() ? "" : classes[0]) + "') and image files (e.g. '" +
                                             (flat.empty() ? "" : flat[0]) +
                                             "'); use DIR/<class>/<image> or a flat folder of images");
  check(!classes.empty() || !flat.empty(), dir_ +
                                               ": no images (.png, .jpg, .jpeg) in the folder or its class "
                                               "subfolders, and no CIFAR-10 batch files");
  for (const std::string& name : flat) files_.push_back(dir_ + "/" + name);
  for (size_t c = 0; c < classes.size(); ++c) {
    const std::string class_dir = dir_ + "/" + classes[c];
    size_t n = 0;
    for (const Entry& e : list_dir(class_dir)) {
      check(!e.is_dir, class_dir + "/" + e.name + ": nested folder inside class '" + classes[c] +
                           "' (class folders hold image files only)");
      files_.push_back(class_dir + "/" + e.name), labels_.push_back(int(c)), ++n;
    }
    check(n > 0, class_dir + ": class folder holds no images (.png, .jpg, .jpeg)");
  }
  class_names_ = classes;
  if (opts_.limit >= 0 && opts_.limit < count()) {
    files_.resize(size_t(opts_.limit));
    if (!labels_.empty()) labels_.resize(size_t(opts_.limit));
  }
  check(!files_.empty(), dir_ + ": no samples left (--limit 0)");
  resize_ = sized;
  if (!sized) {  // every image must have the first one's size
    const RgbImage first = decode_image(read_file(files_[0]), files_[0]);
    opts_.height = first.height, opts_.width = first.width;
  }
  const int64_t h = opts_.height, w = opts_.width;
  shape_ = opts_.layout == Layout::kNCHW ? Shape{3, h, w} : Shape{h, w, 3};
}

void ImageFolderSource::read(std::span<const int64_t> indices, float* out) const {
  const size_t h = size_t(opts_.height), w = size_t(opts_.width), plane = h * w;
  const Preprocess& p = opts_.preprocess;
  for (int64_t k : indices)
    check(k >= 0 && k < count(), dir_ + ": sample " + std::to_string(k) + " is outside [0, " +
                                     std::to_string(count()) + ")");
  std::vector<float> hwc(plane * 3);
  for (size_t j = 0; j < indices.size(); ++j) {
    const std::string& file = files_[size_t(indices[j])];
    const RgbImage img = decode_image(read_file(file), file);
    if (size_t(img.height) == h && size_t(img.width) == w) {
      for (size_t e = 0; e < hwc.size(); ++e) hwc[e] = float(img.rgb[e]);  // the resize identity, skipped
    } else {
      check(resize_, file + ": image is " + std::to_string(img.width) + "x" + std::to_string(img.height) + ", but " +
                         files_[0] + " is " + std::to_string(w) + "x" + std::to_string(h) +
                         " (without a fixed model input size all images need one size)");
      hwc = resize_bilinear(img, int(h), int(w));
    }
    float* o = out + j * plane * 3;
    for (size_t e = 0; e < plane; ++e)
      for (size_t c = 0; c < 3; ++c) {
        const float v = (hwc[e * 3 + c] * p.scale - p.mean[c]) / p.std[c];
        o[opts_.layout == Layout::kNCHW ? c * plane + e : e * 3 + c] = v;
      }
  }
}

}  // namespace tinyptq
