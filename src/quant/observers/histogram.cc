#include "quant/observers/histogram.h"

#include <cmath>

#include "core/error.h"
#include "quant/observers/batch_scan.h"

namespace tinyptq {

SplitHistogram::SplitHistogram(int bins, std::string owner) : bins_(bins), owner_(std::move(owner)) {
  if (!(bins >= kMinBins && bins <= kMaxBins && (bins & (bins - 1)) == 0)) {
    throw Error("observer " + owner_ + ": num_bins must be a power of two in [" + std::to_string(kMinBins) +
                ", " + std::to_string(kMaxBins) + "], got " + std::to_string(bins));
  }
  counts_.assign(2 * static_cast<size_t>(bins_), 0);
}

void SplitHistogram::grow_to(int exponent) {
  if (top_ == 0.0) {  // only zeros so far: they stay in pos bin 0 at any T
    top_exponent_ = exponent;
    top_ = std::ldexp(1.0, exponent);
    return;
  }
  const int k = exponent - top_exponent_;  // > 0
  for (int64_t* h : {counts_.data(), counts_.data() + bins_}) {
    for (int i = 1; i < bins_; ++i) {  // i >> k <= i, so ascending order never reads a written bin
      const int j = k >= 31 ? 0 : (i >> k);
      if (j != i) {
        h[j] += h[i];
        h[i] = 0;
      }
    }
  }
  top_exponent_ = exponent;
  top_ = std::ldexp(1.0, exponent);
}

void SplitHistogram::add(std::span<const float> values) {
  if (values.empty()) return;
  const auto [lo, hi] = scan_finite_range(values, owner_);
  min_ = count_ == 0 ? lo : std::min(min_, lo);
  max_ = count_ == 0 ? hi : std::max(max_, hi);
  count_ += static_cast<int64_t>(values.size());

  const double absmax = std::max(std::fabs(double(lo)), std::fabs(double(hi)));
  if (absmax >= top_ && absmax > 0.0) {
    int e = 0;
    std::frexp(absmax, &e);  // absmax in [2^(e-1), 2^e)
    grow_to(e);
  }
  if (top_ == 0.0) {  // all zeros so far
    counts_[0] += static_cast<int64_t>(values.size());
    return;
  }
  const double inv_width = std::ldexp(double(bins_), -top_exponent_);  // exact power of two
  const int64_t neg_offset = bins_;
  // |v|·inv_width is exact and < bins (a power-of-two scale; below the normal range it is < 1 and floors to
  // bin 0 either way); truncation is floor. The sign selects the half without a branch.
  const auto bin = [&](float v) {
    return static_cast<int64_t>(std::fabs(double(v)) * inv_width) + static_cast<int64_t>(v < 0.0f) * neg_offset;
  };
  // Two interleaved count arrays: runs of one bin (the zeros after a Relu) would otherwise chain every
  // increment on the previous one's store. Counts are integers, so the merged sums are exact.
  int64_t* counts = counts_.data();
  const size_t n = values.size();
  size_t i = 0;
  if (n >= 8 * size_t(bins_)) {
    std::vector<int64_t> odd(counts_.size(), 0);
    for (; i + 2 <= n; i += 2) {
      ++counts[bin(values[i])];
      ++odd[size_t(bin(values[i + 1]))];
    }
    for (size_t k = 0; k < odd.size(); ++k) counts[k] += odd[k];
  }
  for (; i < n; ++i) ++counts[bin(values[i])];
}

void SplitHistogram::assign_counts(const SplitHistogram& other) {
  if (count_ != 0 || other.bins_ != bins_)
    throw Error("observer " + owner_ + ": internal: a histogram can only be adopted by an empty one of " +
                std::to_string(bins_) + " bins");
  count_ = other.count_;
  min_ = other.min_, max_ = other.max_;
  top_ = other.top_, top_exponent_ = other.top_exponent_;
  counts_ = other.counts_;
}

std::vector<int64_t> SplitHistogram::signed_counts() const {
  std::vector<int64_t> h(2 * static_cast<size_t>(bins_));
  for (int i = 0; i < bins_; ++i) {
    h[bins_ - 1 - i] = counts_[bins_ + i];
    h[bins_ + i] = counts_[i];
  }
  return h;
}

}  // namespace tinyptq
