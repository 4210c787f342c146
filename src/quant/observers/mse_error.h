// The sum inside MseObserver's error estimate, E(r)/s² = Σ_seg count · mean over the segment of e(v)²
// (v = x/s, see mse_observer.h), as kernels over one prepared histogram: a portable reference (the
// original segment loop) and AVX2/AVX-512 variants chosen at run time. Every kernel returns the reference's
// double bit for bit: per segment the same IEEE operations in the same order (no FMA contraction; the
// vector files are built with -ffp-contract=off), summed sequentially in segment order.
#pragma once
#include <span>
#include <vector>

namespace tinyptq {

// A histogram as MseObserver sees it, prepared once per range() call.
struct MseHistogram {
  struct Segment {
    double lo, hi, count;  // values uniform over [lo, hi]; lo == hi is a point mass
  };
  std::vector<Segment> segments;  // negative bins from −T up, then positive bins: ascending x
  // The same segments as a chain of edges: segment i is [edge[j−1], edge[j]] for the j with count[j] > 0;
  // count[j] = 0 marks an edge that only starts the next segment (a gap). A segment's lo is not repeated
  // when it equals the previous hi, so E(edge/s) is evaluated once per distinct edge. Padded to a multiple
  // of kPad with the last edge and count 0.
  static constexpr size_t kPad = 8;
  std::vector<double> edge, count;
};

MseHistogram prepare_mse_histogram(std::vector<MseHistogram::Segment> segments);

// Σ_seg count · (I(b) − I(a)) / (b − a) with a = lo/s, b = hi/s, I the antiderivative of e(v)² for codes
// [L, U]; a point segment (b ≤ a) adds count · e(a)². Summed in segment order from +0.0.
using MseSumFn = double (*)(const MseHistogram& h, double s, double L, double U);

struct MseErrorKernel {
  const char* isa;  // "reference", "avx2", "avx512"
  MseSumFn sum;
};

const MseErrorKernel& mse_reference_kernel();
// Every kernel this CPU runs, reference first; the last is the fastest.
std::span<const MseErrorKernel> mse_error_kernels();
const MseErrorKernel& best_mse_error_kernel();

// The constants of I shared by the vector kernels (computed by the portable code, so identical):
// A = L − ½, B = U + ½, ria = R(A), rib_minus_ria = R(B) − R(A) with R(v) = ∫_{−½}^{v} (t − round(t))² dt.
struct MseCodeConstants {
  double L, U, A, B, ria, rib_minus_ria;
};
MseCodeConstants mse_code_constants(double L, double U);

// count · e(a)², e the error of clamp(round(a), L, U): a point segment's term (portable, for every kernel).
double mse_point_term(double count, double a, double L, double U);

}  // namespace tinyptq
