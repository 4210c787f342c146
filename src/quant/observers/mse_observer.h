// MSE calibration: the clipping range that minimises the expected squared quantization error for the
// target format, E(r) = Σ_bins count · mean over the bin of (x − fq_r(x))², where fq_r quantizes with
// qparams_from_range(r, format) (so zero-point rounding and the format's code range are included) and
// values are taken as uniform inside each histogram bin (bins clipped to the observed [min, max]).
// The in-bin mean is exact for a uniform density: with v = x/scale and codes [L, U] = [qmin−zp, qmax−zp],
//   e(v)² = (v − round(v))² inside [L−½, U+½],  (v − L)² below,  (v − U)² above,
// whose antiderivative is closed-form (one period of the rounding error integrates to 1/12).
// Search (deterministic grid):
//   symmetric (option or format): t = a·k/128, k = 1…128 (a = max|x|), then 32 steps between the
//       neighbours of the best; range [−t, t] clipped to [min, max];
//   asymmetric, one sign: the non-zero end on the same 1-D grid;
//   asymmetric, both signs: a 12×12 grid over (min·j/12, max·k/12), then three rounds of 1-D refinement
//       of each end around the best.
// Each candidate's sum over the histogram runs in an MseErrorKernel (mse_error.h); all kernels agree bit
// for bit, so the range does not depend on the CPU.
// The full range is always a candidate, so the estimate never exceeds MinMax's. This matters at low bit
// widths: at 4 bits clipping the tails of a Laplacian cuts the MSE several-fold.
#pragma once
#include "quant/observers/histogram.h"
#include "quant/observers/mse_error.h"
#include "quant/observers/observer.h"

namespace tinyptq {

class MseObserver : public Observer {
 public:
  explicit MseObserver(const ObserverOptions& options);  // the fastest kernel this CPU runs
  MseObserver(const ObserverOptions& options, const MseErrorKernel& kernel);
  void observe(std::span<const float> values) override { hist_.add(values); }
  int histogram_bins() const override { return hist_.bins(); }
  void adopt_histogram(const SplitHistogram& h) override { hist_.assign_counts(h); }
  Range range() const override;
  const char* name() const override { return "mse"; }

  // The estimated quantization MSE (per value) of range r over the observed histogram.
  double expected_mse(Range r) const;

 private:
  MseHistogram prepare() const;
  double total_error(const MseHistogram& h, Range r) const;

  const MseErrorKernel* kernel_;
  QuantFormat format_;
  bool symmetric_;
  SplitHistogram hist_;
};

}  // namespace tinyptq
