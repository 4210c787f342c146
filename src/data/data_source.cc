#include "data/data_source.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "data/npy.h"

namespace tinyptq {
namespace {

bool uniform(const Preprocess& p) {
  return p.mean[0] == p.mean[1] && p.mean[1] == p.mean[2] && p.std[0] == p.std[1] && p.std[1] == p.std[2];
}

}  // namespace

const std::vector<std::string>& DataSource::class_names() const {
  static const std::vector<std::string> none;
  return none;
}

std::vector<int> check_labels(const Tensor& y, int64_t count, const std::string& what) {
  check(is_integer(y.dtype), what + ": labels must be integers, got " + dtype_name(y.dtype));
  check(y.shape.size() == 1 && y.shape[0] == count,
        what + ": labels have shape " + shape_str(y.shape) + ", expected (" + std::to_string(count) + ")");
  std::vector<int> out(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k) {
    const int64_t v = y.i[size_t(k)];
    check(v >= 0 && v < (int64_t(1) << 20),
          what + ": label " + std::to_string(v) + " of sample " + std::to_string(k) + " is outside [0, 2^20)");
    out[size_t(k)] = int(v);
  }
  return out;
}

Tensor slice_samples(const Tensor& t, int64_t n) {
  Tensor out = t;
  const int64_t per = t.shape[0] > 0 ? t.stored() / t.shape[0] : 0;
  out.shape[0] = n;
  if (t.dtype == DType::kFloat32)
    out.f.resize(size_t(n * per));
  else
    out.i.resize(size_t(n * per));
  return out;
}

CifarSource::CifarSource(Dataset d, Layout layout, Preprocess p) : d_(std::move(d)), layout_(layout), p_(p) {
  shape_ = layout == Layout::kNCHW ? Shape{3, 32, 32} : Shape{32, 32, 3};
  labels_.assign(d_.labels.begin(), d_.labels.end());
}

void CifarSource::read(std::span<const int64_t> indices, float* out) const {
  images_to_floats(d_, std::vector<int64_t>(indices.begin(), indices.end()), layout_, p_, out);
}

ArraySource::ArraySource(std::string path, const Tensor& x, const Tensor* y, Layout layout, Preprocess p)
    : path_(std::move(path)) {
  check(!x.shape.empty(), path_ + ": the array is a scalar; its first axis must be samples");
  count_ = x.shape[0];
  check(count_ > 0, path_ + ": the array holds no samples (shape " + shape_str(x.shape) + ")");
  shape_.assign(x.shape.begin() + 1, x.shape.end());
  const int64_t per = num_elements(shape_);
  check(per > 0, path_ + ": samples are empty (shape " + shape_str(x.shape) + ")");
  // Channel of flat element k inside a sample: NCHW -> k / inner, NHWC -> k %
  // channels.
  int64_t channels = 1, inner = per;
  if (!uniform(p)) {
    const int64_t c = shape_.empty() ? 1 : (layout == Layout::kNCHW ? shape_.front() : shape_.back());
    check(c == 3, path_ + ": a per-channel preprocess spec needs 3 channels on the " +
                      std::string(layout == Layout::kNCHW ? "first" : "last") + " sample axis, samples have shape " +
                      shape_str(shape_));
    channels = 3, inner = per / 3;
  }
  values_.resize(size_t(count_ * per));
  for (int64_t k = 0; k < count_ * per; ++k) {
    const int64_t e = k % per;
    const size_t c = size_t(channels == 1 ? 0 : layout == Layout::kNCHW ? e / inner : e % 3);
    const float v = x.dtype == DType::kFloat32 ? x.f[size_t(k)] : float(x.i[size_t(k)]);
    values_[size_t(k)] = (v * p.scale - p.mean[c]) / p.std[c];
  }
  check(all_finite(values_), path_ + ": the array holds NaN or Inf values");
  if (y) {
    labels_ = check_labels(*y, count_, path_);
    num_classes_ = *std::max_element(labels_.begin(), labels_.end()) + 1;
  }
}

void ArraySource::read(std::span<const int64_t> indices, float* out) const {
  const size_t per = size_t(num_elements(shape_));
  for (size_t j = 0; j < indices.size(); ++j) {
    const int64_t k = indices[j];
    check(k >= 0 && k < count_,
          path_ + ": sample " + std::to_string(k) + " is outside [0, " + std::to_string(count_) + ")");
    std::memcpy(out + j * per, values_.data() + size_t(k) * per, per * sizeof(float));
  }
}

}  // namespace tinyptq
