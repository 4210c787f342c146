// Read-only access to an HDF5 file through the libhdf5 C API: RAII handles, string attributes and float
// datasets. Every libhdf5 failure becomes a tinyptq::Error naming the file, the object and libhdf5's own
// description; libhdf5's automatic error printing is silenced while this code runs.
#pragma once
#include <hdf5.h>

#include <string>
#include <vector>

#include "core/tensor.h"

namespace tinyptq {

// Owns one libhdf5 identifier and closes it with the matching H5?close function.
class H5Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Handle() = default;
  H5Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  ~H5Handle() { reset(); }
  H5Handle(H5Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = H5I_INVALID_HID; }
  H5Handle& operator=(H5Handle&& o) noexcept;
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

// Largest dataset this reader allocates (elements, 256 MiB of floats); tiny-model weights are far below it.
inline constexpr int64_t kMaxH5DatasetElements = int64_t(1) << 26;
// Most bytes a stored byte can expand to: deflate's limit is 1032:1. A dataset claiming more elements than
// its storage could hold is a hostile file, refused before anything is allocated.
inline constexpr int64_t kMaxH5ExpansionRatio = 1032;

class H5File {
 public:
  // Opens path read-only. Throws Error if the file is missing, unreadable, not HDF5 or damaged (truncated).
  explicit H5File(const std::string& path);

  const std::string& path() const { return path_; }

  // Whether every component of the '/'-separated object path exists (no error for missing parents).
  bool has_object(const std::string& object) const;
  bool has_attribute(const std::string& object, const std::string& name) const;

  // A scalar (or one-element) string attribute, fixed- or variable-length; trailing NULs removed.
  std::string read_string_attribute(const std::string& object, const std::string& name) const;
  // A one-dimensional string attribute; an attribute with zero elements gives {} whatever its type
  // (Keras stores empty weight_names as a 0-element float64 array).
  std::vector<std::string> read_string_list_attribute(const std::string& object,
                                                      const std::string& name) const;

  // Dimensions of a dataset (rank 0 for a scalar).
  Shape dataset_shape(const std::string& dataset) const;
  // Reads a floating-point dataset converted to float32. Throws Error unless its shape equals
  // expected_shape (checked before allocating) and it holds at most kMaxH5DatasetElements elements.
  Tensor read_float_dataset(const std::string& dataset, const Shape& expected_shape) const;

 private:
  std::string where(const std::string& object) const;  // "file.h5: /object"
  std::string path_;
  H5Handle file_;
};

}  // namespace tinyptq
