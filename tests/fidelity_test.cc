// Fidelity metrics (src/eval/fidelity) on small vectors worked out by hand in the comments.
#include "eval/fidelity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.h"

namespace tinyptq {
namespace {

// ref rows [1 2 3], [0 0 4]; out rows [1 2 2], [0 1 4].
std::vector<Tensor> ref2x3() { return {Tensor::from_floats({2, 3}, {1, 2, 3, 0, 0, 4})}; }
std::vector<Tensor> out2x3() { return {Tensor::from_floats({2, 3}, {1, 2, 2, 0, 1, 4})}; }

TEST(Fidelity, OneOutputByHand) {
  const FidelityResult r = fidelity(ref2x3(), out2x3(), 2);
  EXPECT_EQ(r.samples, 2);
  // Row 0: ref top-1 is 2, out [1 2 2] ties 1 and 2 and the first wins (1): disagree. Row 1: 2 and 2.
  EXPECT_EQ(r.agree, 1);
  EXPECT_DOUBLE_EQ(r.agreement, 50.0);
  // Σref² = 1+4+9+16 = 30, Σ(ref−out)² = 1+1 = 2.
  EXPECT_NEAR(r.sqnr_db, 10.0 * std::log10(15.0), 1e-12);
  EXPECT_NEAR(r.sqnr_db, 11.7609, 1e-4);
  // cos row 0 = 11 / (√14·3), row 1 = 16 / (4·√17).
  EXPECT_NEAR(r.mean_cosine, (11.0 / (std::sqrt(14.0) * 3.0) + 16.0 / (4.0 * std::sqrt(17.0))) / 2, 1e-12);
  EXPECT_NEAR(r.mean_cosine, 0.975051, 1e-6);
  EXPECT_DOUBLE_EQ(r.max_abs_error, 1.0);
  ASSERT_EQ(r.per_output.size(), 1u);
  EXPECT_EQ(r.per_output[0].name, "output_0");
  EXPECT_NEAR(r.per_output[0].mse, 2.0 / 6.0, 1e-15);
}

TEST(Fidelity, TwoOutputsShareSqnrAndCosineButNotMse) {
  // Second output [2, 1]: ref [2], [0.5]; out [2], [0]: one error of 0.5 in row 1.
  auto ref = ref2x3(), out = out2x3();
  ref.push_back(Tensor::from_floats({2, 1}, {2, 0.5f}));
  out.push_back(Tensor::from_floats({2, 1}, {2, 0}));
  FidelityAccumulator acc({"logits", "aux"});
  acc.add(ref, out, 2);
  const FidelityResult r = acc.result();
  EXPECT_EQ(r.agree, 1);  // top-1 on output 0 only
  // Σref² = 30 + 4 + 0.25, Σ(ref−out)² = 2 + 0.25.
  EXPECT_NEAR(r.sqnr_db, 10.0 * std::log10(34.25 / 2.25), 1e-12);
  // Row 0 concatenated: ref [1 2 3 2], out [1 2 2 2]: 15 / (√18·√13). Row 1: ref [0 0 4 .5], out [0 1 4 0]:
  // 16 / (√16.25·√17).
  EXPECT_NEAR(r.mean_cosine,
              (15.0 / (std::sqrt(18.0) * std::sqrt(13.0)) + 16.0 / (std::sqrt(16.25) * std::sqrt(17.0))) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(r.max_abs_error, 1.0);
  ASSERT_EQ(r.per_output.size(), 2u);
  EXPECT_EQ(r.per_output[0].name, "logits");
  EXPECT_EQ(r.per_output[1].name, "aux");
  EXPECT_NEAR(r.per_output[0].mse, 2.0 / 6.0, 1e-15);
  EXPECT_NEAR(r.per_output[1].mse, 0.25 / 2.0, 1e-15);
}

TEST(Fidelity, BatchesAccumulateToTheWholeResult) {
  FidelityAccumulator acc;
  acc.add({Tensor::from_floats({1, 3}, {1, 2, 3})}, {Tensor::from_floats({1, 3}, {1, 2, 2})}, 1);
  acc.add({Tensor::from_floats({1, 3}, {0, 0, 4})}, {Tensor::from_floats({1, 3}, {0, 1, 4})}, 1);
  const FidelityResult a = acc.result(), b = fidelity(ref2x3(), out2x3(), 2);
  EXPECT_EQ(a.samples, b.samples);
  EXPECT_EQ(a.agree, b.agree);
  EXPECT_NEAR(a.sqnr_db, b.sqnr_db, 1e-12);
  EXPECT_NEAR(a.mean_cosine, b.mean_cosine, 1e-12);
  EXPECT_EQ(a.max_abs_error, b.max_abs_error);
  EXPECT_NEAR(a.per_output[0].mse, b.per_output[0].mse, 1e-15);
}

TEST(Fidelity, IdenticalAndZeroOutputs) {
  const FidelityResult same = fidelity(ref2x3(), ref2x3(), 2);
  EXPECT_EQ(same.sqnr_db, std::numeric_limits<double>::infinity());
  EXPECT_NEAR(same.mean_cosine, 1.0, 1e-15);
  EXPECT_EQ(same.max_abs_error, 0.0);
  EXPECT_DOUBLE_EQ(same.agreement, 100.0);
  // Row 0 both zero (cosine 1), row 1 only the output zero (cosine 0); the reference is all zeros.
  const FidelityResult zero =
      fidelity({Tensor::from_floats({2, 2}, {0, 0, 0, 0})}, {Tensor::from_floats({2, 2}, {0, 0, 3, 4})}, 2);
  EXPECT_EQ(zero.sqnr_db, -std::numeric_limits<double>::infinity());
  EXPECT_NEAR(zero.mean_cosine, 0.5, 1e-15);
  EXPECT_DOUBLE_EQ(zero.max_abs_error, 4.0);
  EXPECT_NEAR(zero.per_output[0].mse, 25.0 / 4.0, 1e-15);
}

TEST(Fidelity, MismatchedOutputsAreErrorsNamingTheOutput) {
  FidelityAccumulator acc({"logits"});
  try {
    acc.add(ref2x3(), {Tensor::from_floats({2, 2}, {0, 0, 0, 0})}, 2);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'logits'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[2,2]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(acc.add(ref2x3(), {}, 2), Error);
  EXPECT_THROW(acc.add(ref2x3(), out2x3(), 3), Error);
}

}  // namespace
}  // namespace tinyptq
