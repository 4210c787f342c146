#include "eval/fidelity.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace tinyptq {

namespace {

int64_t argmax(const float* row, int64_t n) {
  return int64_t(std::max_element(row, row + n) - row);
}

}  // namespace

FidelityAccumulator::FidelityAccumulator(std::vector<std::string> names) : names_(std::move(names)) {}

void FidelityAccumulator::add(const std::vector<Tensor>& ref, const std::vector<Tensor>& out, int64_t n) {
  check(!ref.empty(), "the reference model produced no output");
  check(ref.size() == out.size(), "the model has " + std::to_string(out.size()) + " outputs but the reference has " +
                                      std::to_string(ref.size()));
  if (squared_error_.empty()) {
    squared_error_.assign(ref.size(), 0.0);
    elements_.assign(ref.size(), 0);
    for (size_t k = names_.size(); k < ref.size(); ++k) names_.push_back("output_" + std::to_string(k));
  }
  check(squared_error_.size() == ref.size(), "the number of outputs changed between batches");
  for (size_t k = 0; k < ref.size(); ++k) {
    const Tensor& r = ref[k];
    const Tensor& o = out[k];
    const std::string what = "output '" + names_[k] + "'";
    check(r.dtype == DType::kFloat32 && o.dtype == DType::kFloat32, what + " is not float32");
    check(r.shape == o.shape, what + " has shape " + shape_str(o.shape) + " but the reference's has " +
                                  shape_str(r.shape));
    check(!r.shape.empty() && r.shape[0] == n,
          what + " has shape " + shape_str(r.shape) + "; expected a first axis of " + std::to_string(n) + " samples");
  }
  // Top-1 on output 0, per row.
  const int64_t row0 = n > 0 ? int64_t(ref[0].f.size()) / n : 0;
  for (int64_t s = 0; s < n && row0 > 0; ++s)
    agree_ += argmax(ref[0].f.data() + s * row0, row0) == argmax(out[0].f.data() + s * row0, row0);
  // Per-sample dot products and norms, over all outputs.
  std::vector<double> dot(size_t(n), 0.0), rr(size_t(n), 0.0), oo(size_t(n), 0.0);
  for (size_t k = 0; k < ref.size(); ++k) {
    const std::vector<float>& r = ref[k].f;
    const std::vector<float>& o = out[k].f;
    const int64_t row = n > 0 ? int64_t(r.size()) / n : 0;
    double se = 0;
    for (int64_t s = 0; s < n; ++s) {
      for (int64_t j = s * row; j < (s + 1) * row; ++j) {
        const double a = r[size_t(j)], b = o[size_t(j)], d = a - b;
        dot[size_t(s)] += a * b;
        rr[size_t(s)] += a * a;
        oo[size_t(s)] += b * b;
        se += d * d;
        max_abs_ = std::max(max_abs_, std::abs(d));
      }
    }
    squared_error_[k] += se;
    elements_[k] += int64_t(r.size());
    noise_ += se;
  }
  for (int64_t s = 0; s < n; ++s) {
    signal_ += rr[size_t(s)];
    const double denom = std::sqrt(rr[size_t(s)]) * std::sqrt(oo[size_t(s)]);
    if (denom > 0)
      cosine_sum_ += dot[size_t(s)] / denom;
    else
      cosine_sum_ += rr[size_t(s)] == oo[size_t(s)] ? 1.0 : 0.0;  // both zero: identical
  }
  samples_ += n;
}

FidelityResult FidelityAccumulator::result() const {
  FidelityResult r;
  r.samples = samples_;
  r.agree = agree_;
  r.agreement = samples_ ? 100.0 * double(agree_) / double(samples_) : 0.0;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (noise_ == 0)
    r.sqnr_db = kInf;
  else if (signal_ == 0)
    r.sqnr_db = -kInf;
  else
    r.sqnr_db = 10.0 * std::log10(signal_ / noise_);
  r.mean_cosine = samples_ ? cosine_sum_ / double(samples_) : 0.0;
  r.max_abs_error = max_abs_;
  for (size_t k = 0; k < squared_error_.size(); ++k)
    r.per_output.push_back({names_[k], elements_[k] ? squared_error_[k] / double(elements_[k]) : 0.0});
  return r;
}

FidelityResult fidelity(const std::vector<Tensor>& ref, const std::vector<Tensor>& out, int64_t n) {
  FidelityAccumulator acc;
  acc.add(ref, out, n);
  return acc.result();
}

}  // namespace tinyptq
