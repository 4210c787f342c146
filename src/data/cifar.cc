#include "data/cifar.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/tensor.h"
#include "data/pickle.h"

namespace tinyptq {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kRecordBytes = 1 + Dataset::kImageBytes;  // label byte, then R, G, B planes
constexpr int64_t kChunkRecords = 1024;                       // binary files are read this many records at a time
constexpr uintmax_t kMaxMetaBytes = 1 << 20;
constexpr int kTrainBatches = 5;

const char* const kStandardNames[Dataset::kNumClasses] = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};

enum class FileLayout { kBinary, kPython };

struct Location {
  std::string dir;
  FileLayout layout;
};

std::string batch_name(FileLayout layout, const std::string& stem) {
  return layout == FileLayout::kBinary ? stem + ".bin" : stem;
}

bool is_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

bool has_batches(const std::string& dir, FileLayout layout) {
  if (is_file(dir + "/" + batch_name(layout, "test_batch"))) return true;
  for (int n = 1; n <= kTrainBatches; ++n)
    if (is_file(dir + "/" + batch_name(layout, "data_batch_" + std::to_string(n)))) return true;
  return false;
}

// The directory holding the batch files: `dir` itself or its cifar-10-batches-{bin,py} child.
Location locate(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("CIFAR-10 directory '" + dir + "' does not exist");
  const Location candidates[] = {{dir, FileLayout::kBinary},
                                 {dir, FileLayout::kPython},
                                 {dir + "/cifar-10-batches-bin", FileLayout::kBinary},
                                 {dir + "/cifar-10-batches-py", FileLayout::kPython}};
  for (const Location& c : candidates)
    if (has_batches(c.dir, c.layout)) return c;
  throw Error("CIFAR-10 directory '" + dir +
              "' holds no batch files (data_batch_N.bin/test_batch.bin, data_batch_N/test_batch, or a "
              "cifar-10-batches-bin/ or cifar-10-batches-py/ subdirectory)");
}

std::vector<std::string> split_files(const Location& loc, Split split) {
  std::vector<std::string> files;
  if (split == Split::kTest) {
    const std::string path = loc.dir + "/" + batch_name(loc.layout, "test_batch");
    if (is_file(path)) files.push_back(path);
  } else {
    for (int n = 1; n <= kTrainBatches; ++n) {
      const std::string path = loc.dir + "/" + batch_name(loc.layout, "data_batch_" + std::to_string(n));
      if (is_file(path)) files.push_back(path);
    }
  }
  if (files.empty())
    throw Error("CIFAR-10 directory '" + loc.dir + "' has no " +
                batch_name(loc.layout, split == Split::kTest ? "test_batch" : "data_batch_N") + " file for the " +
                split_name(split) + " split");
  return files;
}

void check_label(uint8_t label, const std::string& path, int64_t record) {
  if (label >= Dataset::kNumClasses)
    throw Error("'" + path + "': image " + std::to_string(record) + " has label " + std::to_string(label) +
                " (expected 0..9)");
}

void read_binary(const std::vector<std::string>& files, int64_t limit, Dataset& d) {
  std::vector<int64_t> records;
  int64_t total = 0;
  for (const std::string& path : files) {
    std::error_code ec;
    const uintmax_t size = fs::file_size(path, ec);
    if (ec) throw Error("cannot read '" + path + "': " + ec.message());
    if (size % uintmax_t(kRecordBytes) != 0)
      throw Error("'" + path + "': size " + std::to_string(size) + " is not a multiple of 3073 (1 label byte + " +
                  "3072 pixel bytes per image)");
    records.push_back(int64_t(size / uintmax_t(kRecordBytes)));
    total += records.back();
  }
  if (total == 0) throw Error("'" + files.front() + "': the " + split_name(d.split) + " split has no images");
  const int64_t want = limit >= 0 ? std::min(limit, total) : total;
  d.pixels.resize(size_t(want) * Dataset::kImageBytes);
  d.labels.resize(size_t(want));

  std::vector<uint8_t> buf;
  for (size_t f = 0; f < files.size() && d.count < want; ++f) {
    std::ifstream in(files[f], std::ios::binary);
    if (!in) throw Error("cannot open '" + files[f] + "'");
    const int64_t file_records = std::min(records[f], want - d.count);
    for (int64_t done = 0; done < file_records;) {
      const int64_t n = std::min(kChunkRecords, file_records - done);
      buf.resize(size_t(n * kRecordBytes));
      in.read(reinterpret_cast<char*>(buf.data()), std::streamsize(buf.size()));
      if (in.gcount() != std::streamsize(buf.size())) throw Error("'" + files[f] + "': short read");
      for (int64_t r = 0; r < n; ++r) {
        const uint8_t* rec = buf.data() + r * kRecordBytes;
        check_label(rec[0], files[f], done + r);
        d.labels[size_t(d.count)] = rec[0];
        std::memcpy(d.pixels.data() + d.count * Dataset::kImageBytes, rec + 1, Dataset::kImageBytes);
        ++d.count;
      }
      done += n;
    }
  }
}

// One python batch: {b'data': uint8 ndarray N×3072 (or N×3×32×32), b'labels': [N ints], ...}.
void read_python_batch(const std::string& path, int64_t keep_at_most, Dataset& d) {
  const pickle::Document doc = pickle::unpickle(read_file(path), path);
  const pickle::Object& root = doc.root();
  if (root.kind != pickle::Kind::kDict) throw Error("'" + path + "': pickle does not hold a dict");
  const pickle::Object* data = doc.dict_get(root, "data");
  if (data == nullptr || data->kind != pickle::Kind::kArray || !data->array.built)
    throw Error("'" + path + "': missing 'data' ndarray");
  const pickle::ArrayInfo& a = data->array;
  const Shape flat = {a.shape.empty() ? 0 : a.shape[0], Dataset::kImageBytes};
  const Shape planes = {flat[0], Dataset::kChannels, Dataset::kHeight, Dataset::kWidth};
  if (a.dtype != DType::kUint8 || a.fortran || (a.shape != flat && a.shape != planes))
    throw Error("'" + path + "': 'data' must be a C-ordered uint8 array of shape (N, 3072), got " +
                dtype_name(a.dtype) + " " + shape_str(a.shape) + (a.fortran ? " (Fortran order)" : ""));
  const int64_t n = flat[0];

  const pickle::Object* labels_obj = doc.dict_get(root, "labels");
  if (labels_obj == nullptr) throw Error("'" + path + "': missing 'labels'");
  std::vector<int64_t> labels;
  if (labels_obj->kind == pickle::Kind::kList) {
    for (pickle::ObjId id : labels_obj->items) {
      const pickle::Object& v = doc.at(id);
      if (v.kind != pickle::Kind::kInt) throw Error("'" + path + "': 'labels' holds a non-integer");
      labels.push_back(v.i);
    }
  } else if (labels_obj->kind == pickle::Kind::kArray && labels_obj->array.built &&
             labels_obj->array.dtype != DType::kFloat32 && labels_obj->array.shape.size() == 1) {
    labels = pickle::array_to_ints(labels_obj->array);
  } else {
    throw Error("'" + path + "': 'labels' must be a list of ints or a 1-D integer array");
  }
  if (int64_t(labels.size()) != n)
    throw Error("'" + path + "': " + std::to_string(labels.size()) + " labels for " + std::to_string(n) +
                " images");

  const int64_t take = std::min(n, keep_at_most);
  for (int64_t k = 0; k < take; ++k)
    if (labels[size_t(k)] < 0 || labels[size_t(k)] >= Dataset::kNumClasses)
      throw Error("'" + path + "': image " + std::to_string(k) + " has label " + std::to_string(labels[size_t(k)]) +
                  " (expected 0..9)");
  d.pixels.insert(d.pixels.end(), a.data.begin(), a.data.begin() + take * Dataset::kImageBytes);
  for (int64_t k = 0; k < take; ++k) d.labels.push_back(uint8_t(labels[size_t(k)]));
  d.count += take;
}

void read_python(const std::vector<std::string>& files, int64_t limit, Dataset& d) {
  for (const std::string& path : files) {
    if (limit >= 0 && d.count >= limit) break;
    read_python_batch(path, limit >= 0 ? limit - d.count : INT64_MAX, d);
  }
  if (d.count == 0 && limit != 0)
    throw Error("'" + files.front() + "': the " + split_name(d.split) + " split has no images");
}

std::string read_meta(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) throw Error("cannot read '" + path + "': " + ec.message());
  if (size > kMaxMetaBytes) throw Error("'" + path + "': " + std::to_string(size) + " bytes is too large for a meta file");
  return read_file(path);
}

void check_names(const std::vector<std::string>& names, const std::string& path) {
  if (names.size() != size_t(Dataset::kNumClasses))
    throw Error("'" + path + "': expected 10 class names, found " + std::to_string(names.size()));
}

// batches.meta.txt: one name a line; surrounding whitespace and blank lines are ignored.
std::vector<std::string> binary_class_names(const std::string& path) {
  const std::string text = read_meta(path);
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const size_t b = text.find_first_not_of(" \t\r\f\v", start);
    if (b != std::string::npos && b < end) {
      const size_t e = text.find_last_not_of(" \t\r\f\v", end - 1);
      names.push_back(text.substr(b, e - b + 1));
    }
    start = end + 1;
  }
  check_names(names, path);
  return names;
}

// batches.meta: {b'label_names': [10 str or bytes], ...}.
std::vector<std::string> python_class_names(const std::string& path) {
  const pickle::Document doc = pickle::unpickle(read_meta(path), path);
  const pickle::Object* list = doc.dict_get(doc.root(), "label_names");
  if (list == nullptr || list->kind != pickle::Kind::kList) throw Error("'" + path + "': missing 'label_names' list");
  std::vector<std::string> names;
  for (pickle::ObjId id : list->items) {
    const pickle::Object& v = doc.at(id);
    if ((v.kind != pickle::Kind::kStr && v.kind != pickle::Kind::kBytes) || v.text.empty())
      throw Error("'" + path + "': 'label_names' holds a non-string or empty name");
    names.emplace_back(v.text);
  }
  check_names(names, path);
  return names;
}

}  // namespace

const char* split_name(Split s) { return s == Split::kTrain ? "train" : "test"; }

Split parse_split(const std::string& name) {
  if (name == "train") return Split::kTrain;
  if (name == "test") return Split::kTest;
  throw Error("unknown split '" + name + "' (expected train or test)");
}

const uint8_t* Dataset::image(int64_t k) const {
  if (k < 0 || k >= count)
    throw Error("image index " + std::to_string(k) + " out of range: dataset has " + std::to_string(count) +
                " images");
  if (pixels.size() < size_t(count) * kImageBytes || labels.size() < size_t(count))
    throw Error("dataset holds fewer pixels or labels than its count of " + std::to_string(count) + " images");
  return pixels.data() + k * kImageBytes;
}

bool looks_like_cifar10(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir + "/cifar-10-batches-bin", ec) || fs::exists(dir + "/cifar-10-batches-py", ec)) return true;
  std::vector<std::string> names = {"test_batch", "test_batch.bin", "batches.meta", "batches.meta.txt"};
  for (int n = 1; n <= kTrainBatches; ++n) {
    names.push_back("data_batch_" + std::to_string(n));
    names.push_back("data_batch_" + std::to_string(n) + ".bin");
  }
  for (const std::string& name : names)
    if (fs::exists(fs::symlink_status(dir + "/" + name, ec))) return true;
  return false;
}

Dataset load_cifar10(const std::string& dir, Split split, int64_t limit) {
  const Location loc = locate(dir);
  const std::vector<std::string> files = split_files(loc, split);
  Dataset d;
  d.source = loc.dir;
  d.split = split;
  if (loc.layout == FileLayout::kBinary) {
    read_binary(files, limit, d);
    const std::string meta = loc.dir + "/batches.meta.txt";
    if (is_file(meta)) d.class_names = binary_class_names(meta);
  } else {
    read_python(files, limit, d);
    const std::string meta = loc.dir + "/batches.meta";
    if (is_file(meta)) d.class_names = python_class_names(meta);
  }
  if (d.class_names.empty()) d.class_names.assign(std::begin(kStandardNames), std::end(kStandardNames));
  return d;
}

}  // namespace tinyptq
