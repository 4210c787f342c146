#include "engine/int/layout_steps.h"

#include <algorithm>
#include <cstring>

namespace tinyptq::qdq {

std::vector<int64_t> storage_order(const Value& v) {
  if (v.layout == Layout::kNHWC) return {2, 3, 1};
  std::vector<int64_t> order;
  for (int64_t d = 1; d < int64_t(v.shape.size()); ++d) order.push_back(d);
  return order;
}

Shape storage_dims(const Value& v) {
  Shape dims;
  for (int64_t d : storage_order(v)) dims.push_back(v.shape[d]);
  return dims;
}

std::vector<int64_t> storage_permutation(const Value& in, const Value& out,
                                         const std::vector<int64_t>& perm) {
  const std::vector<int64_t> in_order = storage_order(in), out_order = storage_order(out);
  std::vector<int64_t> p;
  for (int64_t out_axis : out_order) {
    const int64_t in_axis = perm[out_axis];
    p.push_back(std::find(in_order.begin(), in_order.end(), in_axis) - in_order.begin());
  }
  return p;
}

bool is_trivial_permutation(const Shape& dims, const std::vector<int64_t>& p) {
  // The axes of size > 1 must keep their relative order.
  int64_t last = -1;
  for (int64_t axis : p) {
    if (dims[axis] == 1) continue;
    if (axis < last) return false;
    last = axis;
  }
  return true;
}

namespace {

class PermuteStep : public Step {
 public:
  PermuteStep(int64_t element_size, const Shape& dims, const std::vector<int64_t>& p)
      : element_size_(element_size) {
    kind = StepKind::kLayout;
    kernel = "permute";
    // Input strides in elements, then reordered per output axis.
    std::vector<int64_t> in_strides(dims.size(), 1);
    for (int64_t d = int64_t(dims.size()) - 2; d >= 0; --d) in_strides[d] = in_strides[d + 1] * dims[d + 1];
    for (int64_t axis : p) {
      out_dims_.push_back(dims[axis]);
      strides_.push_back(in_strides[axis]);
    }
    count_ = num_elements(dims);
  }
  double cost() const override { return double(count_ * element_size_); }
  void run(const RunContext& ctx, int64_t first, int64_t images, int8::RowRange) const override {
    for (int64_t i = first; i < first + images; ++i) {
      if (element_size_ == 1)
        permute(in(ctx, 0, i), out(ctx, i));
      else
        permute(reinterpret_cast<const float*>(in(ctx, 0, i)), reinterpret_cast<float*>(out(ctx, i)));
    }
  }

 private:
  // Walks the output in order with an odometer over its axes, tracking the input offset.
  template <typename T>
  void permute(const T* x, T* y) const {
    const int64_t rank = int64_t(out_dims_.size());
    if (count_ == 0) return;
    if (rank == 0) {
      y[0] = x[0];
      return;
    }
    int64_t index[8] = {0};
    int64_t offset = 0;
    const int64_t inner = out_dims_[rank - 1], inner_stride = strides_[rank - 1];
    for (int64_t o = 0; o < count_; o += inner) {
      for (int64_t j = 0; j < inner; ++j) y[o + j] = x[offset + j * inner_stride];
      for (int64_t d = rank - 2; d >= 0; --d) {
        offset += strides_[d];
        if (++index[d] < out_dims_[d]) break;
        offset -= strides_[d] * out_dims_[d];
        index[d] = 0;
      }
    }
  }

  int64_t element_size_, count_ = 0;
  Shape out_dims_;
  std::vector<int64_t> strides_;
};

}  // namespace

std::unique_ptr<Step> permute_step(int64_t element_size, const Shape& dims, const std::vector<int64_t>& p) {
  return std::make_unique<PermuteStep>(element_size, dims, p);
}

}  // namespace tinyptq::qdq
