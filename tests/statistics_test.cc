// Wilson intervals and the exact McNemar test against hand-computed values, and the study's
// recommendation rule (statistically indistinguishable candidates, then agreement, then size).
#include <gtest/gtest.h>

#include "core/error.h"
#include "stats/statistics.h"
#include "study/study_summary.h"

namespace tinyptq {
namespace {

TEST(Wilson, KnownValues) {
  // 881/1000 (the FP32 ResNet8 accuracy): p = 0.881, z = 1.96 -> [0.85946, 0.89962].
  const stats::Interval a = stats::wilson_interval(881, 1000);
  EXPECT_NEAR(a.lo, 0.859459, 1e-6);
  EXPECT_NEAR(a.hi, 0.899625, 1e-6);
  // 0/10: the interval starts at 0 and reaches z²/(n + z²) = 0.27753.
  const stats::Interval z = stats::wilson_interval(0, 10);
  EXPECT_DOUBLE_EQ(z.lo, 0.0);
  EXPECT_NEAR(z.hi, 0.277533, 1e-6);
  // 10/10 mirrors 0/10.
  const stats::Interval f = stats::wilson_interval(10, 10);
  EXPECT_NEAR(f.lo, 1.0 - 0.277533, 1e-6);
  EXPECT_DOUBLE_EQ(f.hi, 1.0);
  const stats::Interval none = stats::wilson_interval(0, 0);
  EXPECT_EQ(none.lo, 0.0);
  EXPECT_EQ(none.hi, 1.0);
  EXPECT_THROW(stats::wilson_interval(11, 10), Error);
}

TEST(McNemar, ExactBinomialPValues) {
  // b = 10, c = 2: 2 · (C(12,0) + C(12,1) + C(12,2)) / 2^12 = 158/4096.
  EXPECT_NEAR(stats::mcnemar_exact_p(10, 2), 158.0 / 4096.0, 1e-12);
  EXPECT_NEAR(stats::mcnemar_exact_p(2, 10), 158.0 / 4096.0, 1e-12);  // symmetric
  EXPECT_DOUBLE_EQ(stats::mcnemar_exact_p(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(stats::mcnemar_exact_p(3, 3), 1.0);  // capped at 1
  EXPECT_NEAR(stats::mcnemar_exact_p(1, 0), 1.0, 1e-12);
  EXPECT_NEAR(stats::mcnemar_exact_p(6, 0), 2.0 / 64.0, 1e-12);
  // b = 30, c = 20: 2 · P(Binomial(50, 1/2) <= 20) = 0.202639 (large n stays accurate in log space).
  EXPECT_NEAR(stats::mcnemar_exact_p(30, 20), 0.2026388, 1e-6);
  EXPECT_LT(stats::mcnemar_exact_p(600, 400), 1e-9);
}

TEST(McNemar, CountsDiscordantPairs) {
  const std::vector<bool> a = {true, true, true, false, false, true};
  const std::vector<bool> b = {true, false, false, true, false, true};
  const stats::McNemar m = stats::mcnemar(a, b);
  EXPECT_EQ(m.b, 2);  // a right, b wrong
  EXPECT_EQ(m.c, 1);  // a wrong, b right
  EXPECT_NEAR(m.p, 1.0, 1e-12);
  EXPECT_THROW(stats::mcnemar(a, {true}), Error);
}

// FP32 right on images [0, 90) of 100. A config is described by which images it gets wrong/right
// differently from FP32 (its flipped images and its prediction there).
ConfigResult config(const std::string& name, const std::vector<int64_t>& lose, const std::vector<int64_t>& gain,
                    const std::vector<int64_t>& other_wrong, int64_t packed) {
  ConfigResult c;
  c.name = c.label = name;
  c.group = "preset";
  c.total = 100;
  c.correct = 90 - int64_t(lose.size()) + int64_t(gain.size());
  c.accuracy = double(c.correct);
  c.delta = c.accuracy - 90.0;
  for (int64_t i : lose) c.flipped.push_back(i), c.flipped_predicted.push_back(9);  // label 0 -> wrong
  for (int64_t i : gain) c.flipped.push_back(i), c.flipped_predicted.push_back(0);  // FP32 wrong -> right
  for (int64_t i : other_wrong) c.flipped.push_back(i), c.flipped_predicted.push_back(8);  // wrong -> other wrong
  c.agreement = 100.0 - double(c.flipped.size());
  c.packed_weight_bytes = c.model_bytes = packed;
  return c;
}

StudyResults fixture() {
  StudyResults r;
  r.fp32.labels.assign(100, 0);
  r.fp32.predicted.assign(100, 0);
  for (int i = 90; i < 100; ++i) r.fp32.predicted[size_t(i)] = 5;  // FP32 wrong on the last 10
  r.fp32.correct = 90;
  r.fp32.total = 100;
  r.fp32.accuracy = 90;
  return r;
}

TEST(Recommend, IndistinguishableCandidatesPreferAgreementThenSize) {
  StudyResults r = fixture();
  // top: 92% with 2 losses and 4 gains (94% agreement); near: 91% with 1 gain (99% agreement, larger weights);
  // bad: 75%, smallest. near is not significantly worse than top, so agreement decides before size.
  r.configs.push_back(config("preset/top", {0, 1}, {90, 91, 92, 93}, {}, 100));
  r.configs.push_back(config("preset/near", {}, {90}, {}, 120));
  r.configs.push_back(config("preset/bad", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, {}, {}, 50));
  const Recommendation rec = recommend(r);
  ASSERT_NE(rec.best_accuracy, nullptr);
  EXPECT_EQ(rec.best_accuracy->name, "preset/top");
  ASSERT_NE(rec.recommended, nullptr);
  EXPECT_EQ(rec.recommended->name, "preset/near") << rec.reason;
  EXPECT_EQ(rec.indistinguishable, 2);  // top and near; bad (75%) is significantly worse than top
  EXPECT_NE(rec.reason.find("not significantly different"), std::string::npos) << rec.reason;
  EXPECT_NE(rec.reason.find("the highest FP32 agreement"), std::string::npos) << rec.reason;

  // Stats vs FP32: bad loses 15 images and gains none, p = 2 / 2^15 -> significant; near is not.
  const ConfigStats bad = config_stats(r.fp32, r.configs[2]);
  EXPECT_EQ(bad.vs_fp32.b, 15);
  EXPECT_EQ(bad.vs_fp32.c, 0);
  EXPECT_NEAR(bad.vs_fp32.p, 2.0 / 32768.0, 1e-12);
  EXPECT_TRUE(bad.significant);
  const ConfigStats near = config_stats(r.fp32, r.configs[1]);
  EXPECT_FALSE(near.significant);
  EXPECT_NEAR(near.agreement_ci.lo, stats::wilson_interval(99, 100).lo, 1e-12);
  // An image that flips from one wrong class to another changes agreement, not correctness.
  const ConfigResult other = config("preset/other", {}, {}, {95}, 10);
  EXPECT_EQ(config_stats(r.fp32, other).vs_fp32.b + config_stats(r.fp32, other).vs_fp32.c, 0);
}

TEST(Recommend, EqualAgreementFallsToSmallerWeights) {
  StudyResults r = fixture();
  r.configs.push_back(config("preset/big", {0}, {90}, {}, 200));
  r.configs.push_back(config("preset/small", {1}, {91}, {}, 100));
  const Recommendation rec = recommend(r);
  ASSERT_NE(rec.recommended, nullptr);
  EXPECT_EQ(rec.recommended->name, "preset/small");
  EXPECT_NE(rec.reason.find("smallest packed weights"), std::string::npos) << rec.reason;
}

TEST(Recommend, SignificantlyBetterConfigurationWinsAlone) {
  StudyResults r = fixture();
  std::vector<int64_t> gains = {90, 91, 92, 93, 94, 95, 96, 97, 98, 99};
  r.configs.push_back(config("preset/better", {}, gains, {}, 300));
  r.configs.push_back(config("preset/same", {}, {}, {}, 100));  // 100% agreement, but 10 points worse (p = 0.002)
  const Recommendation rec = recommend(r);
  ASSERT_NE(rec.recommended, nullptr);
  EXPECT_EQ(rec.recommended->name, "preset/better");
  EXPECT_EQ(rec.indistinguishable, 1);
  EXPECT_NE(rec.reason.find("only candidate"), std::string::npos) << rec.reason;
}

}  // namespace
}  // namespace tinyptq
