#include "quant/observers/entropy_observer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace tinyptq {
namespace {

double xlogx(double x) { return x > 0.0 ? x * std::log(x) : 0.0; }

// Prefix sums over a histogram h, so every window's KL costs O(num_quantized_bins):
// mass = Σ h, nonzero = #{h > 0}, plogp = Σ h·log h.
class WindowKl {
 public:
  WindowKl(const std::vector<int64_t>& h, int num_quantized_bins)
      : h_(h),
        nq_(static_cast<size_t>(num_quantized_bins)),
        mass_(h.size() + 1, 0.0),
        nonzero_(h.size() + 1, 0),
        plogp_(h.size() + 1, 0.0) {
    for (size_t j = 0; j < h.size(); ++j) {
      mass_[j + 1] = mass_[j] + double(h[j]);
      nonzero_[j + 1] = nonzero_[j] + (h[j] > 0 ? 1 : 0);
      plogp_[j + 1] = plogp_[j] + xlogx(double(h[j]));
    }
  }

  // KL(p‖q) of the window [start, end) of h (see entropy_observer.h), written as
  //   KL = (1/P)·Σ p log p − log P − (1/P)·Σ p log q + log Q,
  // with P = Σ p (all values), Q = Σ q (values inside the window), and q constant (= group mass / group
  // non-zero count) over the non-zero p of each group.
  double operator()(size_t start, size_t end) const {
    const size_t len = end - start;
    const double left = mass_[start], right = mass_[h_.size()] - mass_[end];  // outliers
    const double total = mass_[h_.size()], inside = mass_[end] - mass_[start];
    if (inside == 0.0) return std::numeric_limits<double>::infinity();
    const size_t merged = len / nq_;  // >= 1
    double sum_plogp = 0.0, sum_plogq = 0.0;
    for (size_t k = 0; k < nq_; ++k) {
      const size_t gb = start + k * merged, ge = (k + 1 == nq_) ? end : gb + merged;
      const double mass = mass_[ge] - mass_[gb];
      double psum = mass, plogp = plogp_[ge] - plogp_[gb];
      int64_t nonzero = nonzero_[ge] - nonzero_[gb];
      // The window's edge bins also carry the clipped mass.
      for (const auto& [bin, extra] : {std::pair{start, left}, std::pair{end - 1, right}}) {
        if (extra == 0.0 || bin < gb || bin >= ge) continue;
        const double h = double(h_[bin]);
        psum += extra;
        plogp += xlogx(h + extra) - xlogx(h);
        nonzero += h == 0.0 ? 1 : 0;
      }
      if (psum == 0.0) continue;
      if (mass == 0.0) return std::numeric_limits<double>::infinity();  // q misses mass of p
      sum_plogp += plogp;
      sum_plogq += psum * std::log(mass / double(nonzero));
    }
    return (sum_plogp - sum_plogq) / total - std::log(total) + std::log(inside);
  }

 private:
  const std::vector<int64_t>& h_;
  size_t nq_;
  std::vector<double> mass_;
  std::vector<int64_t> nonzero_;
  std::vector<double> plogp_;
};

}  // namespace

EntropyObserver::EntropyObserver(const ObserverOptions& options)
    : num_quantized_bins_(options.num_quantized_bins), hist_(options.num_bins, "entropy") {
  check_observer_options(options);
}

Range EntropyObserver::range() const {
  check(hist_.count() > 0, "observer entropy: range() requested before any value was observed");
  const float mn = hist_.min(), mx = hist_.max();
  if (hist_.top() == 0.0) return {mn, mx};  // all zeros

  const bool one_sided = mn >= 0.0f;
  std::vector<int64_t> h =
      one_sided ? std::vector<int64_t>(hist_.pos().begin(), hist_.pos().end()) : hist_.signed_counts();
  // ReLU outputs put a spike of exact zeros in the first bin. Left in, it dominates p and the KL minimum
  // lands on a far too narrow window (conv outputs clipped to a quarter of their range). As NVIDIA's
  // pytorch-quantization does, the spike is flattened to its neighbour's count before the search.
  if (one_sided && h.size() > 1) h[0] = std::min(h[0], h[1]);
  const WindowKl kl_of(h, num_quantized_bins_);

  const size_t n = static_cast<size_t>(hist_.bins());
  const size_t nq = static_cast<size_t>(num_quantized_bins_);
  size_t best_i = n;  // full range unless a window does better
  double best_kl = std::numeric_limits<double>::infinity();
  for (size_t i = one_sided ? nq : (nq + 1) / 2; i <= n; ++i) {
    const double kl = one_sided ? kl_of(0, i) : kl_of(n - i, n + i);
    if (kl < best_kl) {
      best_kl = kl;
      best_i = i;
    }
  }
  const double t = double(best_i) * hist_.bin_width();
  const double lo = one_sided ? double(mn) : std::max(-t, double(mn));
  return {static_cast<float>(lo), static_cast<float>(std::min(t, double(mx)))};
}

}  // namespace tinyptq
