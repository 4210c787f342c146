// One interface for every data format: a fixed number of samples, each a float
// tensor of one shape (no batch axis) already preprocessed for the model, plus
// optional integer labels. Calibration and evaluation both read through it,
// with the same Layout and Preprocess, so the two can never differ.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/cifar.h"
#include "data/preprocess.h"

namespace tinyptq {

class DataSource {
 public:
  virtual ~DataSource() = default;
  virtual const std::string& path() const = 0;  // what errors name
  virtual int64_t count() const = 0;
  virtual const Shape& sample_shape() const = 0;
  // Empty when the source has no labels; else count() values in [0,
  // num_classes()).
  virtual const std::vector<int>& labels() const = 0;
  virtual int num_classes() const = 0;  // 0 without labels
  // num_classes() names, or empty when the classes are only numbered.
  virtual const std::vector<std::string>& class_names() const;
  // Writes the listed samples, in list order, as num_elements(sample_shape())
  // floats each. Error on an index outside [0, count()).
  virtual void read(std::span<const int64_t> indices, float* out) const = 0;
};

// CIFAR-10 images as 3 × 32 × 32 (NCHW) or 32 × 32 × 3 (NHWC) floats, via
// images_to_floats.
class CifarSource : public DataSource {
 public:
  CifarSource(Dataset d, Layout layout, Preprocess p);
  const std::string& path() const override { return d_.source; }
  int64_t count() const override { return d_.count; }
  const Shape& sample_shape() const override { return shape_; }
  const std::vector<int>& labels() const override { return labels_; }
  int num_classes() const override { return Dataset::kNumClasses; }
  const std::vector<std::string>& class_names() const override { return d_.class_names; }
  void read(std::span<const int64_t> indices, float* out) const override;
  const Dataset& dataset() const { return d_; }

 private:
  Dataset d_;
  Layout layout_;
  Preprocess p_;
  Shape shape_;
  std::vector<int> labels_;
};

// An array whose first axis is samples (x), optional labels (y), preprocessed
// per element: v' = (v * scale - mean[c]) / std[c], c the channel index on axis
// 0 of a sample (NCHW) or its last axis (NHWC). A spec with per-channel values
// needs exactly 3 channels there; uniform values need none.
class ArraySource : public DataSource {
 public:
  // Error naming `path`: x with no sample axis or no samples, y not 1-D
  // integers of x's sample count, a negative label, a per-channel spec on a
  // sample without 3 channels.
  ArraySource(std::string path, const Tensor& x, const Tensor* y, Layout layout, Preprocess p);
  const std::string& path() const override { return path_; }
  int64_t count() const override { return count_; }
  const Shape& sample_shape() const override { return shape_; }
  const std::vector<int>& labels() const override { return labels_; }
  int num_classes() const override { return num_classes_; }
  void read(std::span<const int64_t> indices, float* out) const override;

 private:
  std::string path_;
  int64_t count_ = 0;
  Shape shape_;
  std::vector<float> values_;  // count × sample, preprocessed once
  std::vector<int> labels_;
  int num_classes_ = 0;
};

// Error naming `what` unless y is 1-D integers, one per sample, each in [0, 2^20).
std::vector<int> check_labels(const Tensor& y, int64_t count, const std::string& what);
// The first n entries along axis 0 (n <= shape[0]).
Tensor slice_samples(const Tensor& t, int64_t n);

}  // namespace tinyptq
