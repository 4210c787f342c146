// Statistics for accuracy on a finite test set: Wilson score intervals for a proportion and the exact
// McNemar test for two classifiers scored on the same images (paired).
#pragma once
#include <cstdint>
#include <vector>

namespace tinyptq::stats {

struct Interval {
  double lo = 0, hi = 0;  // fractions in [0, 1]
};

// Wilson score interval for k successes in n trials at normal quantile z (1.96: 95%):
//   centre = (p + z²/2n) / (1 + z²/n),  half = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²),  p = k/n.
// n == 0 gives [0, 1].
Interval wilson_interval(int64_t k, int64_t n, double z = 1.959963984540054);

// Discordant pairs of two paired 0/1 outcome vectors: b = a right and b wrong, c = a wrong and b right.
struct McNemar {
  int64_t b = 0, c = 0;
  double p = 1;  // two-sided exact p-value
};

// Exact McNemar: under H0 the b + c discordant pairs split Binomial(b + c, 1/2);
//   p = min(1, 2 · P(X <= min(b, c))).  b + c == 0 gives p = 1.
double mcnemar_exact_p(int64_t b, int64_t c);
McNemar mcnemar(const std::vector<bool>& a_correct, const std::vector<bool>& b_correct);  // equal sizes

// The significance level the reports use.
constexpr double kAlpha = 0.05;

}  // namespace tinyptq::stats
