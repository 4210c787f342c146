#include "stats/statistics.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace tinyptq::stats {

Interval wilson_interval(int64_t k, int64_t n, double z) {
  if (n <= 0) return {0.0, 1.0};
  check(k >= 0 && k <= n, "wilson_interval: successes outside [0, n]");
  const double nn = double(n), p = double(k) / nn, z2 = z * z;
  const double denom = 1.0 + z2 / nn;
  const double centre = (p + z2 / (2.0 * nn)) / denom;
  const double half = z / denom * std::sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn));
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

double mcnemar_exact_p(int64_t b, int64_t c) {
  const int64_t n = b + c, k = std::min(b, c);
  if (n == 0) return 1.0;
  // P(X <= k) for X ~ Binomial(n, 1/2), summed in log space (n is up to the test-set size).
  const double log_half_n = -double(n) * std::log(2.0);
  double tail = 0;
  for (int64_t i = 0; i <= k; ++i)
    tail += std::exp(std::lgamma(double(n) + 1) - std::lgamma(double(i) + 1) - std::lgamma(double(n - i) + 1) + log_half_n);
  return std::min(1.0, 2.0 * tail);
}

McNemar mcnemar(const std::vector<bool>& a_correct, const std::vector<bool>& b_correct) {
  check(a_correct.size() == b_correct.size(), "mcnemar: outcome vectors of different sizes");
  McNemar m;
  for (size_t i = 0; i < a_correct.size(); ++i) {
    if (a_correct[i] && !b_correct[i]) ++m.b;
    if (!a_correct[i] && b_correct[i]) ++m.c;
  }
  m.p = mcnemar_exact_p(m.b, m.c);
  return m;
}

}  // namespace tinyptq::stats
