// A histogram of a stream of finite floats whose bins never depend on how the stream was batched.
// Positives (and ±0) and negatives are counted in two halves of `bins` bins each over [0, T):
//   bin i of a half holds |x| in [i·w, (i+1)·w),  w = T / bins,
// where T = 2^e is the smallest power of two strictly above max |x| seen so far (T = 0 while every
// value has been 0; those zeros sit in pos bin 0). When a batch raises max |x| past T, T grows to T·2^k
// and each new bin is the exact sum of 2^k old ones (bins is a power of two, so the grids nest:
// floor(floor(y) / 2^k) = floor(y / 2^k)). The final counts therefore equal binning all values at the
// final T directly, for any batch split.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tinyptq {

class SplitHistogram {
 public:
  static constexpr int kMinBins = 16;
  static constexpr int kMaxBins = 65536;

  // bins: a power of two in [kMinBins, kMaxBins] (Error otherwise). owner names the observer in errors.
  SplitHistogram(int bins, std::string owner);

  // Adds a batch. Throws Error on NaN/Inf (naming the index) before changing anything.
  void add(std::span<const float> values);
  // Becomes what `other` holds (counts, min, max, T); this must be empty and of the same bins (Error
  // otherwise). The owner name is kept.
  void assign_counts(const SplitHistogram& other);

  int bins() const { return bins_; }
  int64_t count() const { return count_; }
  float min() const { return min_; }  // exact minimum seen (valid when count() > 0)
  float max() const { return max_; }
  double top() const { return top_; }  // T; 0 while every value has been 0
  double bin_width() const { return top_ / bins_; }
  std::span<const int64_t> pos() const { return {counts_.data(), size_t(bins_)}; }  // x >= 0 (and -0.0)
  std::span<const int64_t> neg() const { return {counts_.data() + bins_, size_t(bins_)}; }  // x < 0, by |x|

  // The signed histogram over [-T, T): 2·bins counts, index j covers [-T + j·w, -T + (j+1)·w)
  // (up to the ±0 convention: -0.0 counts as positive).
  std::vector<int64_t> signed_counts() const;

 private:
  void grow_to(int exponent);  // T becomes 2^exponent, merging bins

  int bins_;
  std::string owner_;
  int64_t count_ = 0;
  float min_ = 0.0f, max_ = 0.0f;
  double top_ = 0.0;
  int top_exponent_ = 0;
  std::vector<int64_t> counts_;  // [pos bins..., neg bins...]
};

}  // namespace tinyptq
