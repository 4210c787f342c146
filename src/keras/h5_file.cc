#include "keras/h5_file.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "keras/h5_precheck.h"

namespace tinyptq {

namespace {

// Silences libhdf5's automatic error-stack printing on this thread for the object's lifetime.
class QuietH5Errors {
 public:
  QuietH5Errors() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietH5Errors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  QuietH5Errors(const QuietH5Errors&) = delete;
  QuietH5Errors& operator=(const QuietH5Errors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

herr_t keep_first_description(unsigned, const H5E_error2_t* err, void* out) {
  auto* s = static_cast<std::string*>(out);
  if (s->empty() && err && err->desc && *err->desc) *s = err->desc;
  return 0;
}

// Throws Error(what), adding libhdf5's most specific description of the failure, and clears the stack.
[[noreturn]] void fail(const std::string& what) {
  std::string detail;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_first_description, &detail);
  H5Eclear2(H5E_DEFAULT);
  throw Error(detail.empty() ? what : what + " (libhdf5: " + detail + ")");
}

H5Handle checked(hid_t id, H5Handle::Closer close, const std::string& what) {
  if (id < 0) fail(what);
  return H5Handle(id, close);
}

void checked(herr_t status, const std::string& what) {
  if (status < 0) fail(what);
}

std::string strip_nuls(std::string s) {
  auto end = s.find('\0');
  if (end != std::string::npos) s.resize(end);
  return s;
}

constexpr hssize_t kMaxStrings = hssize_t(1) << 20;
constexpr size_t kMaxStringBytes = size_t(1) << 26;

// All strings of an attribute (scalar → one string). `what` names it in errors.
std::vector<std::string> read_strings(hid_t attr, const std::string& what) {
  H5Handle type = checked(H5Aget_type(attr), H5Tclose, what + ": cannot read the attribute type");
  H5Handle space = checked(H5Aget_space(attr), H5Sclose, what + ": cannot read the attribute dataspace");
  hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0) fail(what + ": cannot read the attribute size");
  if (n == 0) return {};
  check(n <= kMaxStrings, what + ": attribute holds " + std::to_string(n) + " strings (too many)");
  check(H5Tget_class(type.get()) == H5T_STRING, what + ": attribute is not a string");
  htri_t variable = H5Tis_variable_str(type.get());
  if (variable < 0) fail(what + ": cannot read the string type");

  H5Handle mem = checked(H5Tcopy(H5T_C_S1), H5Tclose, what + ": cannot create a string type");
  H5T_cset_t cset = H5Tget_cset(type.get());
  if (cset < 0) fail(what + ": cannot read the string character set");
  checked(H5Tset_cset(mem.get(), cset), what + ": cannot set the string character set");
  std::vector<std::string> out;
  out.reserve(size_t(n));
  if (variable > 0) {
    checked(H5Tset_size(mem.get(), H5T_VARIABLE), what + ": cannot create a string type");
    std::vector<char*> ptrs(size_t(n), nullptr);
    checked(H5Aread(attr, mem.get(), ptrs.data()), what + ": cannot read the attribute");
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
  } else {
    size_t size = H5Tget_size(type.get());
    check(size > 0 && size <= kMaxStringBytes / size_t(n), what + ": string attribute is too large");
    checked(H5Tset_size(mem.get(), size), what + ": cannot create a string type");
    checked(H5Tset_strpad(mem.get(), H5T_STR_NULLPAD), what + ": cannot create a string type");
    std::string buf(size * size_t(n), '\0');
    checked(H5Aread(attr, mem.get(), buf.data()), what + ": cannot read the attribute");
    for (size_t k = 0; k < size_t(n); ++k) out.push_back(strip_nuls(buf.substr(k * size, size)));
  }
  return out;
}

}  // namespace

H5Handle& H5Handle::operator=(H5Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void H5Handle::reset() {
  if (id_ >= 0 && close_) {
    QuietH5Errors quiet;
    close_(id_);
  }
  id_ = H5I_INVALID_HID;
}

H5File::H5File(const std::string& path) : path_(path) {
  // libhdf5's exit handler cannot close what a damaged file left half-open and then prints "HDF5: infinite
  // loop closing library" after our one error line; files are only read, so there is nothing to flush.
  // Effective when this is the process's first libhdf5 call (as in the CLI); harmless otherwise.
  static const herr_t no_exit_handler = H5dont_atexit();
  (void)no_exit_handler;
  QuietH5Errors quiet;
  std::error_code ec;
  check(std::filesystem::exists(path, ec), path + ": no such file");
  check(std::filesystem::is_regular_file(path, ec), path + ": not a regular file");
  check(std::ifstream(path, std::ios::binary).good(), path + ": cannot open for reading");
  htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  if (is_hdf5 == 0) throw Error(path + ": not an HDF5 file (no HDF5 signature found)");
  if (is_hdf5 < 0) fail(path + ": cannot read as an HDF5 file");
  check_hdf5_global_heaps(path);  // damage libhdf5 1.10 would loop or overrun on
  // Read-only use needs no file lock; locking fails on some network/read-only mounts.
  H5Handle fapl =
      checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, path + ": cannot create file access properties");
  checked(H5Pset_file_locking(fapl.get(), false, true), path + ": cannot disable file locking");
  file_ = checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose,
                  path + ": cannot open the HDF5 file (damaged or truncated)");
}

std::string H5File::where(const std::string& object) const { return path_ + ": " + object; }

bool H5File::has_object(const std::string& object) const {
  QuietH5Errors quiet;
  std::string prefix;
  size_t pos = 0;
  while (pos <= object.size()) {
    size_t slash = object.find('/', pos);
    if (slash == std::string::npos) slash = object.size();
    std::string part = object.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty()) continue;
    prefix += (prefix.empty() ? "" : "/") + part;
    htri_t exists = H5Lexists(file_.get(), prefix.c_str(), H5P_DEFAULT);
    if (exists < 0) fail(where(prefix) + ": cannot look up the object");
    if (exists == 0) return false;
  }
  return true;
}

bool H5File::has_attribute(const std::string& object, const std::string& name) const {
  if (!has_object(object)) return false;
  QuietH5Errors quiet;
  htri_t exists = H5Aexists_by_name(file_.get(), object.c_str(), name.c_str(), H5P_DEFAULT);
  if (exists < 0) fail(where(object) + ": cannot look up attribute '" + name + "'");
  return exists > 0;
}

std::string H5File::read_string_attribute(const std::string& object, const std::string& name) const {
  QuietH5Errors quiet;
  const std::string what = where(object) + " attribute '" + name + "'";
  H5Handle attr =
      checked(H5Aopen_by_name(file_.get(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
              what + ": cannot open");
  std::vector<std::string> strings = read_strings(attr.get(), what);
  check(strings.size() == 1, what + ": expected one string, found " + std::to_string(strings.size()));
  return strings[0];
}

std::vector<std::string> H5File::read_string_list_attribute(const std::string& object,
                                                            const std::string& name) const {
  QuietH5Errors quiet;
  const std::string what = where(object) + " attribute '" + name + "'";
  H5Handle attr =
      checked(H5Aopen_by_name(file_.get(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
              what + ": cannot open");
  return read_strings(attr.get(), what);
}

namespace {

Shape read_dataspace_shape(hid_t dataset, const std::string& what) {
  H5Handle space = checked(H5Dget_space(dataset), H5Sclose, what + ": cannot read the dataspace");
  H5S_class_t cls = H5Sget_simple_extent_type(space.get());
  check(cls == H5S_SIMPLE || cls == H5S_SCALAR, what + ": dataset has no data (null dataspace)");
  int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) fail(what + ": cannot read the rank");
  check(rank <= H5S_MAX_RANK, what + ": rank " + std::to_string(rank) + " is too large");
  std::vector<hsize_t> dims(size_t(rank) + 1, 0);
  if (H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0) fail(what + ": cannot read the dims");
  Shape shape;
  for (int d = 0; d < rank; ++d) {
    check(dims[d] <= hsize_t(kMaxH5DatasetElements),
          what + ": dimension " + std::to_string(dims[d]) + " is too large");
    shape.push_back(int64_t(dims[d]));
  }
  return shape;
}

}  // namespace

Shape H5File::dataset_shape(const std::string& dataset) const {
  QuietH5Errors quiet;
  const std::string what = where(dataset);
  H5Handle ds =
      checked(H5Dopen2(file_.get(), dataset.c_str(), H5P_DEFAULT), H5Dclose, what + ": cannot open dataset");
  return read_dataspace_shape(ds.get(), what);
}

Tensor H5File::read_float_dataset(const std::string& dataset, const Shape& expected_shape) const {
  QuietH5Errors quiet;
  const std::string what = where(dataset);
  H5Handle ds =
      checked(H5Dopen2(file_.get(), dataset.c_str(), H5P_DEFAULT), H5Dclose, what + ": cannot open dataset");
  H5Handle type = checked(H5Dget_type(ds.get()), H5Tclose, what + ": cannot read the data type");
  check(H5Tget_class(type.get()) == H5T_FLOAT, what + ": dataset is not floating point");
  Shape shape = read_dataspace_shape(ds.get(), what);
  check(shape == expected_shape,
        what + ": dataset has shape " + shape_str(shape) + ", expected " + shape_str(expected_shape));
  int64_t n = num_elements(shape);
  check(n <= kMaxH5DatasetElements, what + ": dataset holds " + std::to_string(n) + " elements (too many)");
  if (n > 0) {
    // Unwritten storage reads back as fill values: a tiny file could otherwise claim gigabytes.
    const auto stored = static_cast<int64_t>(H5Dget_storage_size(ds.get()));
    hsize_t file_size = 0;
    check(H5Fget_filesize(file_.get(), &file_size) >= 0, what + ": cannot read the file size");
    const int64_t bytes = n * static_cast<int64_t>(H5Tget_size(type.get()));
    check(stored > 0 && stored <= static_cast<int64_t>(file_size) && bytes <= stored * kMaxH5ExpansionRatio,
          what + ": dataset claims " + std::to_string(n) + " elements but stores only " + std::to_string(stored) +
              " bytes");
  }
  std::vector<float> data(static_cast<size_t>(n));
  if (n > 0)
    checked(H5Dread(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()),
            what + ": cannot read the dataset");
  return Tensor::from_floats(shape, std::move(data));
}

}  // namespace tinyptq
