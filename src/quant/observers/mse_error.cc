#include "quant/observers/mse_error.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/cpu_features.h"

namespace tinyptq {

double mse_sum_avx2(const MseHistogram& h, double s, double L, double U);    // mse_error_avx2.cc
double mse_sum_avx512(const MseHistogram& h, double s, double L, double U);  // mse_error_avx512.cc

namespace {

double cube(double x) { return x * x * x; }

// ∫_{−½}^{v} (t − round(t))² dt: k whole periods of 1/12 plus the partial period. Only called inside the
// code range (|v| < 2^10), where truncation to int64 is a cheap floor.
double rounding_integral(double v) {
  double k = static_cast<double>(static_cast<int64_t>(v + 0.5));
  if (k > v + 0.5) k -= 1.0;
  const double r = v - k;
  return k / 12.0 + (cube(r) + 0.125) / 3.0;
}

// Antiderivative of e(v)², the squared error of clamp(round(v), L, U), zero at L − ½.
double error_integral(double v, double L, double U) {
  const double a = L - 0.5, b = U + 0.5;
  if (v < a) return (cube(v - L) + 0.125) / 3.0;
  if (v <= b) return rounding_integral(v) - rounding_integral(a);
  return rounding_integral(b) - rounding_integral(a) + (cube(v - U) - 0.125) / 3.0;
}

double point_error(double v, double L, double U) {
  const double q = std::clamp(std::round(v), L, U);
  return (v - q) * (v - q);
}

double sum_reference(const MseHistogram& h, double s, double L, double U) {
  double total = 0.0;
  double last_edge = std::numeric_limits<double>::quiet_NaN(), last_integral = 0.0;
  for (const MseHistogram::Segment& seg : h.segments) {
    const double a = seg.lo / s, b = seg.hi / s;
    if (b > a) {  // adjacent bins share an edge: reuse its integral
      const double ia = a == last_edge ? last_integral : error_integral(a, L, U);
      last_edge = b;
      last_integral = error_integral(b, L, U);
      total += seg.count * (last_integral - ia) / (b - a);
    } else {
      total += seg.count * point_error(a, L, U);
    }
  }
  return total;
}

bool cpu_has_avx2() { return cpu_runs_avx2_files(); }
bool cpu_has_avx512() { return cpu_runs_avx512_files(); }

}  // namespace

// The kernels rely on: a segment's I(lo/s) equals I of the previous segment's hi/s whenever lo equals
// that hi (the same double in, the same double out), and adding the +0.0 of a gap or pad edge leaves the
// sum unchanged (it starts at +0.0, and a round-to-nearest sum is −0.0 only if both terms are).
MseHistogram prepare_mse_histogram(std::vector<MseHistogram::Segment> segments) {
  MseHistogram h;
  h.segments = std::move(segments);
  for (const MseHistogram::Segment& seg : h.segments) {
    if (h.edge.empty() || seg.lo != h.edge.back()) {
      h.edge.push_back(seg.lo);
      h.count.push_back(0.0);
    }
    h.edge.push_back(seg.hi);
    h.count.push_back(seg.count);
  }
  const double last = h.edge.empty() ? 0.0 : h.edge.back();
  while (h.edge.size() % MseHistogram::kPad != 0) {
    h.edge.push_back(last);
    h.count.push_back(0.0);
  }
  return h;
}

MseCodeConstants mse_code_constants(double L, double U) {
  const double A = L - 0.5, B = U + 0.5;
  return {L, U, A, B, rounding_integral(A), rounding_integral(B) - rounding_integral(A)};
}

double mse_point_term(double count, double a, double L, double U) { return count * point_error(a, L, U); }

const MseErrorKernel& mse_reference_kernel() {
  static const MseErrorKernel k{"reference", sum_reference};
  return k;
}

std::span<const MseErrorKernel> mse_error_kernels() {
  static const std::vector<MseErrorKernel> kernels = [] {
    std::vector<MseErrorKernel> v{mse_reference_kernel()};
    if (cpu_has_avx2()) v.push_back({"avx2", mse_sum_avx2});
    if (cpu_has_avx512()) v.push_back({"avx512", mse_sum_avx512});
    return v;
  }();
  return kernels;
}

const MseErrorKernel& best_mse_error_kernel() { return mse_error_kernels().back(); }

}  // namespace tinyptq
