// Calibration observers: the shared contract (errors, determinism across batch splits, cost) for every
// method, then each method's defining behaviour on distributions with known answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "quant/observers/histogram.h"
#include "quant/observers/mse_error.h"
#include "quant/observers/mse_observer.h"
#include "quant/observers/observer.h"
#include "quant/observers/percentile_observer.h"
#include "quant/qparams.h"

namespace tinyptq {
namespace {

constexpr Method kAllMethods[] = {Method::kMinMax, Method::kEntropy, Method::kPercentile, Method::kMse};

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<float> laplacian(size_t n, uint32_t seed, double b = 1.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-0.5, 0.5);
  std::vector<float> v(n);
  for (float& x : v) {
    const double r = u(rng);
    x = static_cast<float>(-b * (r < 0 ? -1.0 : 1.0) * std::log(1.0 - 2.0 * std::fabs(r)));
  }
  return v;
}

Range observe_all(const ObserverOptions& o, const std::vector<float>& data, const std::vector<size_t>& cuts) {
  std::unique_ptr<Observer> obs = make_observer(o);
  size_t begin = 0;
  for (const size_t end : cuts) {
    obs->observe(std::span<const float>(data).subspan(begin, end - begin));
    begin = end;
  }
  obs->observe(std::span<const float>(data).subspan(begin));
  return obs->range();
}

double quantization_mse(const std::vector<float>& x, Range r, const QuantFormat& f) {
  std::vector<float> y = x;
  fake_quantize(y, qparams_from_range(r.min, r.max, f));
  double sum = 0.0;
  for (size_t i = 0; i < x.size(); ++i) sum += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
  return sum / double(x.size());
}

TEST(Observers, MethodNamesRoundTrip) {
  for (const Method m : kAllMethods) {
    EXPECT_EQ(method_from_name(method_name(m)), m);
    ObserverOptions o;
    o.method = m;
    EXPECT_STREQ(make_observer(o)->name(), method_name(m));
  }
  EXPECT_FALSE(method_from_name("kl").has_value());
  EXPECT_FALSE(method_from_name("").has_value());
  EXPECT_THROW(method_name(static_cast<Method>(42)), Error);
}

TEST(Observers, OptionsAreValidated) {
  auto bad = [](auto edit) {
    ObserverOptions o;
    o.method = Method::kEntropy;
    edit(o);
    return o;
  };
  const ObserverOptions cases[] = {
      bad([](ObserverOptions& o) { o.num_bins = 1000; }),
      bad([](ObserverOptions& o) { o.num_bins = 8; }),
      bad([](ObserverOptions& o) { o.num_bins = 1 << 20; }),
      bad([](ObserverOptions& o) { o.num_quantized_bins = 1; }),
      bad([](ObserverOptions& o) { o.num_quantized_bins = 4096; }),
      bad([](ObserverOptions& o) { o.percentile = 0.0; }),
      bad([](ObserverOptions& o) { o.percentile = 100.5; }),
      bad([](ObserverOptions& o) { o.percentile = std::numeric_limits<double>::quiet_NaN(); }),
      bad([](ObserverOptions& o) { o.moving_average = true; }),
      bad([](ObserverOptions& o) { o.averaging_constant = 0.0; }),
      bad([](ObserverOptions& o) { o.averaging_constant = 1.5; }),
      bad([](ObserverOptions& o) { o.format.bits = 9; }),
      bad([](ObserverOptions& o) { o.method = static_cast<Method>(9); }),
  };
  for (const ObserverOptions& o : cases) EXPECT_THROW(make_observer(o), Error);
  ObserverOptions ok;
  ok.moving_average = true;
  EXPECT_NO_THROW(make_observer(ok));
}

TEST(Observers, NonFiniteValuesThrowAndLeaveTheObserverUnchanged) {
  const std::vector<float> good = gaussian(5000, 1);
  for (const Method m : kAllMethods) {
    SCOPED_TRACE(method_name(m));
    ObserverOptions o;
    o.method = m;
    std::unique_ptr<Observer> obs = make_observer(o);
    EXPECT_THROW(obs->range(), Error);  // nothing observed yet
    obs->observe({});                   // empty batches are no-ops
    EXPECT_THROW(obs->range(), Error);
    obs->observe(good);
    const Range before = obs->range();
    for (const float poison :
         {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
          -std::numeric_limits<float>::infinity()}) {
      std::vector<float> batch = gaussian(100, 2, 1000.0f);
      batch[57] = poison;
      EXPECT_THROW(obs->observe(batch), Error);
    }
    const Range after = obs->range();
    EXPECT_EQ(before.min, after.min);
    EXPECT_EQ(before.max, after.max);
  }
}

TEST(Observers, DegenerateDataGivesUsableRanges) {
  const std::vector<std::vector<float>> datasets = {
      std::vector<float>(1000, 0.0f),
      std::vector<float>(1000, 3.5f),
      std::vector<float>(1000, -2.0f),
      {7.0f},
      {-0.0f, 0.0f},
      {1e-30f, 2e-30f},
      {std::numeric_limits<float>::max(), -std::numeric_limits<float>::max()}};
  for (const Method m : kAllMethods) {
    for (const auto& data : datasets) {
      SCOPED_TRACE(std::string(method_name(m)) + " first=" + std::to_string(data[0]));
      ObserverOptions o;
      o.method = m;
      std::unique_ptr<Observer> obs = make_observer(o);
      obs->observe(data);
      const Range r = obs->range();
      ASSERT_TRUE(std::isfinite(r.min) && std::isfinite(r.max));
      ASSERT_LE(r.min, r.max);
      const auto [mn, mx] = std::minmax_element(data.begin(), data.end());
      EXPECT_GE(r.min, *mn);
      EXPECT_LE(r.max, *mx);
      for (const QuantFormat f :
           {QuantFormat{Container::kUint8, 8, false, false}, QuantFormat{Container::kInt8, 4, true, true}}) {
        const QParams q = qparams_from_range(r.min, r.max, f);
        EXPECT_TRUE(std::isfinite(q.scale[0]) && q.scale[0] > 0.0f);
      }
    }
  }
}

// Every method without moving average promises the bitwise same range for any split (and order) of the
// same values; the data here grows in magnitude so the histograms re-bin several times.
TEST(Observers, RangesDoNotDependOnBatchSplits) {
  std::vector<float> data;
  for (int part = 0; part < 6; ++part) {
    const std::vector<float> g = gaussian(40000, 100 + part, std::ldexp(1.0f, 3 * part - 8));
    data.insert(data.end(), g.begin(), g.end());
  }
  for (float& v : std::span<float>(data).subspan(0, 50000)) v = std::fabs(v);
  std::vector<float> reversed(data.rbegin(), data.rend());
  const std::vector<std::vector<size_t>> splits = {
      {}, {1, 2, 3}, {40000, 80000, 160000}, {12345, 99999, 200001, 239999}};
  for (const Method m : kAllMethods) {
    for (const bool symmetric : {false, true}) {
      SCOPED_TRACE(std::string(method_name(m)) + (symmetric ? " symmetric" : ""));
      ObserverOptions o;
      o.method = m;
      o.symmetric = symmetric;
      o.format = {Container::kInt8, 4, false, false};
      const Range whole = observe_all(o, data, {});
      for (const auto& cuts : splits) {
        const Range r = observe_all(o, data, cuts);
        EXPECT_EQ(r.min, whole.min);
        EXPECT_EQ(r.max, whole.max);
      }
      const Range back = observe_all(o, reversed, {5000, 100000});
      EXPECT_EQ(back.min, whole.min);
      EXPECT_EQ(back.max, whole.max);
    }
  }
}

TEST(Histogram, GrowsOnAPowerOfTwoGridIndependentOfBatches) {
  const std::vector<float> data = {0.0f, -0.0f, 0.3f, -0.7f, 4.0f, 1e-6f, -3.99f, 2.5f, 0.0f};
  SplitHistogram whole(16, "test");
  whole.add(data);
  EXPECT_EQ(whole.top(), 8.0);  // strictly above max |x| = 4
  EXPECT_EQ(whole.count(), 9);
  EXPECT_EQ(whole.min(), -3.99f);
  EXPECT_EQ(whole.max(), 4.0f);
  // w = 0.5: pos bins 0 (0, -0, 0.3, 1e-6, 0), 5 (2.5), 8 (4.0); neg bins 1 (0.7), 7 (3.99).
  std::vector<int64_t> pos(16, 0), neg(16, 0);
  pos[0] = 5, pos[5] = 1, pos[8] = 1, neg[1] = 1, neg[7] = 1;
  auto vec = [](std::span<const int64_t> h) { return std::vector<int64_t>(h.begin(), h.end()); };
  EXPECT_EQ(vec(whole.pos()), pos);
  EXPECT_EQ(vec(whole.neg()), neg);
  SplitHistogram pieces(16, "test");
  for (const float v : data) pieces.add(std::span<const float>(&v, 1));
  EXPECT_EQ(pieces.top(), whole.top());
  EXPECT_EQ(vec(pieces.pos()), pos);
  EXPECT_EQ(vec(pieces.neg()), neg);
  const std::vector<int64_t> s = whole.signed_counts();
  EXPECT_EQ(s[16 - 1 - 1], 1);  // −0.7 in [−1, −0.5)
  EXPECT_EQ(s[16 + 8], 1);      // 4.0 in [4, 4.5)
  EXPECT_THROW(SplitHistogram(24, "test"), Error);
}

TEST(MinMax, IsExactAndSymmetricOnRequest) {
  const std::vector<float> data = gaussian(100000, 5);
  const auto [mn, mx] = std::minmax_element(data.begin(), data.end());
  ObserverOptions o;
  const Range r = observe_all(o, data, {100, 5000});
  EXPECT_EQ(r.min, *mn);
  EXPECT_EQ(r.max, *mx);
  o.symmetric = true;
  const Range s = observe_all(o, data, {});
  const float a = std::max(-*mn, *mx);
  EXPECT_EQ(s.min, -a);
  EXPECT_EQ(s.max, a);
  o.symmetric = false;
  o.format.symmetric = true;  // a symmetric format implies it
  EXPECT_EQ(observe_all(o, data, {}).max, a);
}

TEST(MinMax, MovingAverageFollowsTheFormula) {
  ObserverOptions o;
  o.moving_average = true;
  o.averaging_constant = 0.25;
  std::unique_ptr<Observer> obs = make_observer(o);
  double mn = 0, mx = 0;
  for (int b = 0; b < 10; ++b) {
    const std::vector<float> batch = gaussian(1000, 50 + b, 1.0f + b);
    const auto [bmin, bmax] = std::minmax_element(batch.begin(), batch.end());
    if (b == 0) {
      mn = *bmin, mx = *bmax;
    } else {
      mn += 0.25 * (*bmin - mn);
      mx += 0.25 * (*bmax - mx);
    }
    obs->observe(batch);
  }
  EXPECT_FLOAT_EQ(obs->range().min, static_cast<float>(mn));
  EXPECT_FLOAT_EQ(obs->range().max, static_cast<float>(mx));
  const std::vector<float> all = gaussian(10000, 50, 10.0f);
  EXPECT_GT(observe_all({}, all, {}).max, obs->range().max);  // sanity: the average is below the extreme
}

// Percentiles interpolate in the histogram: within two bin widths of the exact empirical quantile.
TEST(Percentile, MatchesExactQuantiles) {
  std::vector<float> data = gaussian(1000000, 9);
  std::vector<float> sorted = data;
  std::sort(sorted.begin(), sorted.end());
  std::vector<float> abs_sorted(data.size());
  std::transform(data.begin(), data.end(), abs_sorted.begin(), [](float v) { return std::fabs(v); });
  std::sort(abs_sorted.begin(), abs_sorted.end());
  auto quantile = [](const std::vector<float>& s, double q) {
    return s[static_cast<size_t>(q * (s.size() - 1))];
  };
  const double top = std::exp2(std::ceil(std::log2(std::max(-sorted.front(), sorted.back()) * 1.0000001)));
  const double width = top / 2048;

  ObserverOptions o;
  o.method = Method::kPercentile;
  o.symmetric = true;
  o.percentile = 99.0;
  const Range s = observe_all(o, data, {333333});
  EXPECT_NEAR(s.max, quantile(abs_sorted, 0.99), 2 * width);
  EXPECT_EQ(s.min, -s.max);
  EXPECT_NEAR(s.max, 2.5758, 0.015);  // N(0,1): P(|x| < 2.5758) = 0.99

  o.symmetric = false;
  o.percentile = 99.9;  // 0.05 % cut on each side
  const Range a = observe_all(o, data, {});
  EXPECT_NEAR(a.min, quantile(sorted, 0.0005), 2 * width);
  EXPECT_NEAR(a.max, quantile(sorted, 0.9995), 2 * width);
  EXPECT_NEAR(a.max, 3.2905, 0.04);

  o.percentile = 100.0;
  const Range full = observe_all(o, data, {});
  EXPECT_EQ(full.min, sorted.front());
  EXPECT_EQ(full.max, sorted.back());
}

TEST(Percentile, UniformGridData) {
  std::vector<float> data(1 << 20);
  for (size_t i = 0; i < data.size(); ++i) data[i] = (float(i) + 0.5f) / float(data.size());  // U[0, 1)
  ObserverOptions o;
  o.method = Method::kPercentile;
  o.symmetric = true;
  o.percentile = 90.0;
  EXPECT_NEAR(observe_all(o, data, {}).max, 0.9, 1e-4);
  EXPECT_EQ(observe_all(o, data, {}).min, data.front());  // clipped to the observed minimum
  EXPECT_NEAR(histogram_quantile({1, 1, 2}, -1.0, 1.0, 0.375), 0.5, 1e-12);  // half of bin [0, 1)
  EXPECT_NEAR(histogram_quantile({1, 1, 2}, -1.0, 1.0, 0.5), 1.0, 1e-12);
  EXPECT_EQ(histogram_quantile({0, 3, 0}, 0.0, 2.0, 0.0), 2.0);
  EXPECT_EQ(histogram_quantile({0, 3, 0}, 0.0, 2.0, 1.0), 4.0);
}

// A Gaussian bulk with a few far outliers: KL calibration keeps the bulk and clips the outliers.
TEST(Entropy, ClipsOutliersOfAGaussianMix) {
  std::vector<float> data = gaussian(1000000, 21);
  for (int i = 0; i < 50; ++i) data[i * 9973] = (i % 2 ? 100.0f : -100.0f);
  ObserverOptions o;
  o.method = Method::kEntropy;
  const Range r = observe_all(o, data, {250000, 500000});
  EXPECT_LT(r.max, 10.0f) << "threshold should sit well below the outliers";
  EXPECT_GT(r.max, 2.0f) << "threshold should keep the bulk";
  EXPECT_EQ(r.min, -r.max);

  // Post-ReLU data: one-sided histogram, range starts at the data minimum (0).
  std::vector<float> relu = gaussian(1000000, 22);
  for (float& v : relu) v = std::max(v, 0.0f);
  for (int i = 0; i < 50; ++i) relu[i * 9973] = 60.0f;
  const Range p = observe_all(o, relu, {});
  EXPECT_EQ(p.min, 0.0f);
  EXPECT_LT(p.max, 10.0f);
  EXPECT_GT(p.max, 2.0f);

  // Without outliers the threshold still keeps ≥ 99.9 % of the mass.
  const std::vector<float> clean = gaussian(1000000, 23);
  const Range c = observe_all(o, clean, {});
  const auto inside =
      std::count_if(clean.begin(), clean.end(), [&](float v) { return v >= c.min && v <= c.max; });
  EXPECT_GT(double(inside) / clean.size(), 0.999);
}

// Naive per-element KL(p‖q) of a window (MXNet/TensorRT formulation), the reference for the observer's
// prefix-sum evaluation.
double naive_window_kl(const std::vector<int64_t>& h, size_t start, size_t end, size_t nq) {
  const size_t len = end - start;
  std::vector<double> p(h.begin() + start, h.begin() + end), q(len, 0.0);
  for (size_t j = 0; j < start; ++j) p.front() += double(h[j]);
  for (size_t j = end; j < h.size(); ++j) p.back() += double(h[j]);
  const size_t merged = len / nq;
  for (size_t k = 0; k < nq; ++k) {
    const size_t b = k * merged, e = k + 1 == nq ? len : b + merged;
    double mass = 0.0;
    size_t nonzero = 0;
    for (size_t j = b; j < e; ++j) {
      mass += double(h[start + j]);
      nonzero += p[j] != 0.0;
    }
    for (size_t j = b; j < e; ++j) {
      if (p[j] != 0.0) q[j] = mass / double(nonzero);
    }
  }
  double ps = 0.0, qs = 0.0, kl = 0.0;
  for (size_t j = 0; j < len; ++j) ps += p[j], qs += q[j];
  for (size_t j = 0; j < len; ++j) {
    if (p[j] == 0.0) continue;
    if (q[j] == 0.0) return std::numeric_limits<double>::infinity();
    kl += p[j] / ps * std::log((p[j] / ps) / (q[j] / qs));
  }
  return kl;
}

TEST(Entropy, ChoosesTheMinimumOfTheNaiveKl) {
  std::vector<float> data = laplacian(300000, 24);
  for (int i = 0; i < 30; ++i) data[i * 7919] = 40.0f;
  ObserverOptions o;
  o.method = Method::kEntropy;
  o.num_bins = 512;
  o.num_quantized_bins = 64;
  const Range r = observe_all(o, data, {});
  SplitHistogram hist(512, "reference");
  hist.add(data);
  const std::vector<int64_t> h = hist.signed_counts();
  const size_t n = 512;
  double best = std::numeric_limits<double>::infinity();
  for (size_t i = 32; i <= n; ++i) best = std::min(best, naive_window_kl(h, n - i, n + i, 64));
  const auto chosen = static_cast<size_t>(std::lround(r.max / hist.bin_width()));
  ASSERT_LT(r.max, hist.max());  // not clipped to the data, so r.max is the window edge
  EXPECT_LE(naive_window_kl(h, n - chosen, n + chosen, 64), best + 1e-9) << "chosen window " << chosen;
}

// At 4 bits the MSE search clips a Laplacian well inside its extremes (ACIQ's optimum is ≈ 5·b) and the
// measured quantization MSE beats MinMax's several-fold. The closed-form estimate matches measurement.
TEST(Mse, ClipsALaplacianAtFourBits) {
  const std::vector<float> data = laplacian(1000000, 31);
  for (const QuantFormat f :
       {QuantFormat{Container::kInt8, 4, true, true}, QuantFormat{Container::kUint8, 4, false, false},
        QuantFormat{Container::kInt8, 4, false, false}}) {
    SCOPED_TRACE(format_name(f));
    ObserverOptions o;
    o.format = f;
    const Range minmax = observe_all(o, data, {});
    o.method = Method::kMse;
    MseObserver mse_obs(o);
    mse_obs.observe(data);
    const Range mse = mse_obs.range();
    EXPECT_LT(mse.max, 0.6f * minmax.max);
    EXPECT_GT(mse.max, 2.5f);
    EXPECT_LT(mse.max, 8.0f);
    if (!f.symmetric) {
      EXPECT_GT(mse.min, 0.6f * minmax.min);
    }
    const double err_mse = quantization_mse(data, mse, f), err_minmax = quantization_mse(data, minmax, f);
    EXPECT_LT(err_mse, 0.5 * err_minmax) << "mse " << err_mse << " minmax " << err_minmax;
    EXPECT_NEAR(mse_obs.expected_mse(mse), err_mse, 0.03 * err_mse);
    EXPECT_NEAR(mse_obs.expected_mse(minmax), err_minmax, 0.03 * err_minmax);
  }
}

TEST(Mse, NeverWorseThanMinMaxAtEightBits) {
  const std::vector<float> data = gaussian(200000, 41);
  const QuantFormat f{Container::kUint8, 8, false, false};
  ObserverOptions o;
  o.format = f;
  const Range minmax = observe_all(o, data, {});
  o.method = Method::kMse;
  const Range mse = observe_all(o, data, {});
  EXPECT_LE(quantization_mse(data, mse, f), 1.02 * quantization_mse(data, minmax, f));
}

// Every format the sweeps below run: both containers, 2–8 bits, symmetric or not, narrow or not.
std::vector<QuantFormat> sweep_formats() {
  std::vector<QuantFormat> formats;
  for (int bits = 2; bits <= 8; ++bits) {
    for (const Container c : {Container::kInt8, Container::kUint8}) {
      for (const bool symmetric : {false, true}) {
        for (const bool narrow : {false, true}) {
          const QuantFormat f{c, bits, symmetric, narrow};
          try {
            (void)qmin(f);
            formats.push_back(f);
          } catch (const Error&) {
          }
        }
      }
    }
  }
  return formats;
}

// The vector kernels' sums against the reference loop on edge sets built to hit every branch boundary:
// edges exactly at A = L − ½ and B = U + ½, at half-integer and integer multiples of s, point segments
// (lo == hi), gaps, both signs, and far outside the code range.
TEST(MseKernels, SumsEqualTheReferenceBitForBit) {
  const std::span<const MseErrorKernel> kernels = mse_error_kernels();
  ASSERT_STREQ(kernels[0].isa, "reference");
  std::mt19937 rng(97);
  int compared = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const QuantFormat f = sweep_formats()[rng() % sweep_formats().size()];
    const double s = std::ldexp(1.0 + (rng() % 1000) / 1000.0, int(rng() % 20) - 10);
    const int32_t zp = qmin(f) + int32_t(rng() % uint32_t(qmax(f) - qmin(f) + 1));
    const double L = double(qmin(f)) - zp, U = double(qmax(f)) - zp;
    // Edges in code units: random reals, half-integers and integers, A and B, spread over [L − 4, U + 4].
    const int n = 1 + int(rng() % 300);
    std::vector<double> x;
    for (int i = 0; i < n + 1; ++i) {
      const double u = std::uniform_real_distribution<double>(L - 4.0, U + 4.0)(rng);
      switch (rng() % 5) {
        case 0: x.push_back(std::floor(u) + 0.5); break;
        case 1: x.push_back(std::floor(u)); break;
        case 2: x.push_back(rng() % 2 ? L - 0.5 : U + 0.5); break;
        default: x.push_back(u);
      }
    }
    std::sort(x.begin(), x.end());
    std::vector<MseHistogram::Segment> segs;
    for (int i = 0; i < n; ++i) {
      const double lo = x[i] * s, hi = x[i + 1] * s;
      const double count = double(1 + rng() % 1000);
      switch (rng() % 6) {
        case 0: segs.push_back({lo, lo, count}); break;  // a point mass
        case 1: break;                                    // a gap
        default: segs.push_back({lo, hi, count});
      }
    }
    if (segs.empty()) continue;
    const MseHistogram h = prepare_mse_histogram(segs);
    const double want = kernels[0].sum(h, s, L, U);
    for (const MseErrorKernel& k : kernels.subspan(1)) {
      const double got = k.sum(h, s, L, U);
      ASSERT_EQ(std::bit_cast<uint64_t>(got), std::bit_cast<uint64_t>(want))
          << k.isa << " trial " << trial << " " << format_name(f) << " s " << s << " zp " << zp << " segments "
          << segs.size() << ": got " << got << " want " << want;
      ++compared;
    }
  }
  if (kernels.size() == 1) GTEST_SKIP() << "this CPU runs only the reference kernel";
  EXPECT_GT(compared, 1000);
}

// range() and expected_mse() with each kernel equal the reference's bit for bit over a sweep of
// histograms: Gaussian, Laplacian, uniform, one-sided either way, skewed, all zeros, one repeated value,
// a few discrete values; 1 to 100k values; every sweep format with and without the symmetric option.
TEST(Mse, RangeIsTheSameWithEveryKernel) {
  const std::span<const MseErrorKernel> kernels = mse_error_kernels();
  if (kernels.size() == 1) GTEST_SKIP() << "this CPU runs only the reference kernel";
  const std::vector<QuantFormat> formats = sweep_formats();
  std::mt19937 rng(101);
  for (int trial = 0; trial < 160; ++trial) {
    const size_t n = std::vector<size_t>{1, 3, 17, 200, 5000, 100000}[trial % 6];
    const int kind = trial / 6 % 9;
    std::vector<float> data;
    switch (kind) {
      case 0: data = gaussian(n, trial, 0.3f); break;
      case 1: data = laplacian(n, trial, 2.0); break;
      case 2:
      case 3:
      case 4: {
        data = laplacian(n, trial, 0.7);
        for (float& x : data) x = kind == 2 ? std::fabs(x) : kind == 3 ? -std::fabs(x) : x > 0 ? 5.0f * x : x;
        break;
      }
      case 5: data.assign(n, 0.0f); break;
      case 6: data.assign(n, trial % 2 ? 0.37f : -2.5f); break;
      case 7: {
        std::uniform_int_distribution<int> d(-3, 5);
        for (size_t i = 0; i < n; ++i) data.push_back(0.25f * float(d(rng)));
        break;
      }
      default: {
        std::uniform_real_distribution<float> d(-1.0f, 3.0f);
        for (size_t i = 0; i < n; ++i) data.push_back(d(rng));
      }
    }
    ObserverOptions o;
    o.method = Method::kMse;
    o.format = formats[rng() % formats.size()];
    o.symmetric = rng() % 4 == 0;
    o.num_bins = 16 << (rng() % 8);
    o.num_quantized_bins = std::min(o.num_quantized_bins, o.num_bins);
    const std::string name = "trial " + std::to_string(trial) + " kind " + std::to_string(kind) + " n " +
                             std::to_string(n) + " " + format_name(o.format) + (o.symmetric ? " symmetric" : "") +
                             " bins " + std::to_string(o.num_bins);
    MseObserver ref(o, mse_reference_kernel());
    ref.observe(data);
    const Range want = ref.range();
    const Range minmax = {*std::min_element(data.begin(), data.end()), *std::max_element(data.begin(), data.end())};
    for (const MseErrorKernel& k : kernels.subspan(1)) {
      MseObserver obs(o, k);
      obs.observe(data);
      const Range got = obs.range();
      ASSERT_EQ(std::bit_cast<uint32_t>(got.min), std::bit_cast<uint32_t>(want.min)) << k.isa << " " << name;
      ASSERT_EQ(std::bit_cast<uint32_t>(got.max), std::bit_cast<uint32_t>(want.max)) << k.isa << " " << name;
      for (const Range r : {want, minmax, Range{0.6f * minmax.min, 0.6f * minmax.max}}) {
        ASSERT_EQ(std::bit_cast<uint64_t>(obs.expected_mse(r)), std::bit_cast<uint64_t>(ref.expected_mse(r)))
            << k.isa << " " << name << " range [" << r.min << ", " << r.max << "]";
      }
    }
  }
}

TEST(ChannelRanges, MinMaxExactAndMseTighter) {
  const int64_t outer = 2, channels = 3, inner = 5000;
  std::vector<float> w = laplacian(outer * channels * inner, 61);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) w[(o * channels + 2) * inner + i] *= 0.01f;  // a small channel
  }
  const QuantFormat f{Container::kInt8, 4, true, true};
  const std::vector<Range> mm = channel_ranges(w, channels, inner, Method::kMinMax, f);
  const std::vector<Range> ms = channel_ranges(w, channels, inner, Method::kMse, f);
  ASSERT_EQ(mm.size(), 3u);
  ASSERT_EQ(ms.size(), 3u);
  for (int64_t c = 0; c < channels; ++c) {
    float a = 0.0f;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) a = std::max(a, std::fabs(w[(o * channels + c) * inner + i]));
    }
    EXPECT_EQ(mm[c].max, a) << c;  // symmetric format → [-a, a]
    EXPECT_EQ(mm[c].min, -a) << c;
    EXPECT_LT(ms[c].max, mm[c].max) << c;
  }
  EXPECT_LT(mm[2].max, 0.02f * mm[0].max);
  EXPECT_THROW(channel_ranges(w, 7, inner, Method::kMinMax, f), Error);
  EXPECT_THROW(channel_ranges(w, 0, inner, Method::kMinMax, f), Error);
  EXPECT_THROW(channel_ranges({}, 1, 1, Method::kMinMax, f), Error);
  w[(1 * channels + 1) * inner + 3] = std::numeric_limits<float>::quiet_NaN();
  try {
    channel_ranges(w, channels, inner, Method::kMse, f);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("channel 1"), std::string::npos) << e.what();
  }
}

// observe() must stay a cheap single scan: a 1M-float batch in a few ms (generous bound for shared CI).
TEST(Observers, ObserveIsCheap) {
  const std::vector<float> data = gaussian(1 << 20, 71);
  for (const Method m : kAllMethods) {
    ObserverOptions o;
    o.method = m;
    std::unique_ptr<Observer> obs = make_observer(o);
    obs->observe(data);  // warm-up (allocations, page faults)
    const auto t0 = std::chrono::steady_clock::now();
    for (int rep = 0; rep < 3; ++rep) obs->observe(data);
    const auto t1 = std::chrono::steady_clock::now();
    (void)obs->range();
    const auto t2 = std::chrono::steady_clock::now();
    const double observe_ms = std::chrono::duration<double, std::milli>(t1 - t0).count() / 3;
    const double range_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
    std::printf("  %-10s observe(1M) %.2f ms, range() %.2f ms\n", method_name(m), observe_ms, range_ms);
    EXPECT_LT(observe_ms, 100.0) << method_name(m);
  }
}

}  // namespace
}  // namespace tinyptq

namespace tinyptq {
namespace {

// ReLU-like data: half exact zeros, half spread over (0, 8] with a light tail. The zero spike must not
// drive the KL search to a narrow window (before the fix: about a quarter of the range, which cost
// ResNet8 18 points of accuracy); the kept range must still cover most of the bulk of the data.
TEST(EntropyObserver, ZeroSpikeOfReluOutputsDoesNotCollapseTheRange) {
  std::mt19937 rng(7);
  std::exponential_distribution<float> tail(0.5f);
  std::vector<float> x(200000, 0.0f);
  for (size_t k = 0; k < x.size(); k += 2) x[k] = std::min(tail(rng), 20.0f);
  ObserverOptions o;
  o.method = Method::kEntropy;
  const Range r = observe_all(o, x, {});
  EXPECT_EQ(r.min, 0.0f);
  // 99th percentile of the positive half of an exponential with mean 2 is about 9.2.
  EXPECT_GT(r.max, 6.0f) << "entropy window collapsed onto the zero spike";
  EXPECT_LE(r.max, 20.0f);
}

}  // namespace
}  // namespace tinyptq
