#include "quant/observers/mse_observer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "quant/qparams.h"

namespace tinyptq {
namespace {

constexpr int kGrid = 128;   // 1-D grid steps over [0, max]
constexpr int kRefine = 32;  // steps between the neighbours of the best grid point
constexpr int kGrid2d = 12;  // per-axis steps of the 2-D grid
constexpr int kRefineRounds = 3;

}  // namespace

MseObserver::MseObserver(const ObserverOptions& options) : MseObserver(options, best_mse_error_kernel()) {}

MseObserver::MseObserver(const ObserverOptions& options, const MseErrorKernel& kernel)
    : kernel_(&kernel),
      format_(options.format),
      symmetric_(options.symmetric || options.format.symmetric),
      hist_(options.num_bins, "mse") {
  check_observer_options(options);
}

MseHistogram MseObserver::prepare() const {
  std::vector<MseHistogram::Segment> segs;
  const double w = hist_.bin_width(), mn = hist_.min(), mx = hist_.max();
  for (int i = hist_.bins() - 1; i >= 0; --i) {
    if (hist_.neg()[i] > 0) {
      segs.push_back({std::max(-(i + 1) * w, mn), std::min(-i * w, mx), double(hist_.neg()[i])});
    }
  }
  for (int i = 0; i < hist_.bins(); ++i) {
    if (hist_.pos()[i] > 0)
      segs.push_back({std::max(i * w, mn), std::min((i + 1) * w, mx), double(hist_.pos()[i])});
  }
  return prepare_mse_histogram(std::move(segs));
}

double MseObserver::total_error(const MseHistogram& h, Range r) const {
  const QParams qp = qparams_from_range(r.min, r.max, format_);
  const double s = qp.scale[0];
  const double L = double(qmin(format_)) - qp.zero_point[0], U = double(qmax(format_)) - qp.zero_point[0];
  return kernel_->sum(h, s, L, U) * s * s;
}

double MseObserver::expected_mse(Range r) const {
  check(hist_.count() > 0, "observer mse: expected_mse() requested before any value was observed");
  if (hist_.top() == 0.0) return 0.0;
  return total_error(prepare(), r) / double(hist_.count());
}

Range MseObserver::range() const {
  check(hist_.count() > 0, "observer mse: range() requested before any value was observed");
  const float mn = hist_.min(), mx = hist_.max();
  if (hist_.top() == 0.0) return {mn, mx};  // all zeros
  const MseHistogram h = prepare();

  auto clip = [&](double lo, double hi) {
    return Range{static_cast<float>(std::clamp<double>(lo, mn, mx)),
                 static_cast<float>(std::clamp<double>(hi, mn, mx))};
  };
  Range best = {mn, mx};
  double best_err = total_error(h, best);
  // Error of candidate r; keeps the overall best.
  auto evaluate = [&](Range r) {
    const double e = total_error(h, r);
    if (e < best_err) {
      best_err = e;
      best = r;
    }
    return e;
  };
  // The best f in a grid of `steps` + 1 points over [f0, f1] (first on ties) for candidates range_of(f).
  auto best_on_grid = [&](double f0, double f1, int steps, auto&& range_of) {
    double arg = f1, err = std::numeric_limits<double>::infinity();
    for (int k = 0; k <= steps; ++k) {
      const double f = f0 + (f1 - f0) * k / steps;
      const double e = evaluate(range_of(f));
      if (e < err) {
        err = e;
        arg = f;
      }
    }
    return arg;
  };
  // 1-D: t over (0, top] on a grid, then a finer grid between the best point's neighbours.
  auto search_1d = [&](double top, auto&& range_of) {
    const double step = top / kGrid;
    const double t = best_on_grid(step, top, kGrid - 1, range_of);
    best_on_grid(std::max(t - step, step / kRefine), std::min(t + step, top), kRefine, range_of);
  };

  if (symmetric_) {
    const double a = std::max(std::fabs(double(mn)), std::fabs(double(mx)));
    search_1d(a, [&](double t) { return clip(-t, t); });
  } else if (mn >= 0.0f) {
    search_1d(mx, [&](double t) { return clip(mn, t); });
  } else if (mx <= 0.0f) {
    search_1d(-double(mn), [&](double t) { return clip(-t, mx); });
  } else {
    // 2-D: fractions (j, k) of (min, max) on a grid, then alternate 1-D refinements of each end.
    double lo_frac = 1.0, hi_frac = 1.0, grid_err = std::numeric_limits<double>::infinity();
    for (int j = 1; j <= kGrid2d; ++j) {
      for (int k = 1; k <= kGrid2d; ++k) {
        const double fj = double(j) / kGrid2d, fk = double(k) / kGrid2d;
        const double e = evaluate(clip(mn * fj, mx * fk));
        if (e < grid_err) {
          grid_err = e;
          lo_frac = fj;
          hi_frac = fk;
        }
      }
    }
    const double span = 1.0 / kGrid2d;
    for (int round = 0; round < kRefineRounds; ++round) {
      hi_frac = best_on_grid(std::max(hi_frac - span, span / kRefine), std::min(hi_frac + span, 1.0), kRefine,
                             [&](double f) { return clip(mn * lo_frac, mx * f); });
      lo_frac = best_on_grid(std::max(lo_frac - span, span / kRefine), std::min(lo_frac + span, 1.0), kRefine,
                             [&](double f) { return clip(mn * f, mx * hi_frac); });
    }
  }
  return best;
}

}  // namespace tinyptq
