// tinyptq robustness on the real ResNet8 and CIFAR-10 (../shared): agreement with FP32 off the test set.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "data/calibration.h"
#include "eval/robustness.h"
#include "quant/sensitivity.h"
#include "stats/statistics.h"
#include "test_util.h"

namespace tinyptq {
namespace {

const auto q = testing::shell_quote;

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), {}};
}

TEST(Robustness, HeldOutImagesAreOutsideTheCalibrationSet) {
  const Dataset train = load_cifar10(testing::cifar_dir(), Split::kTrain);
  const CalibrationSet cs = stratified_sample(train, 100, 0);
  const std::vector<int64_t> held = heldout_indices(train, cs, 500);
  ASSERT_EQ(held.size(), 5000u);
  const std::set<int64_t> calib(cs.indices.begin(), cs.indices.end());
  for (int64_t k : held) EXPECT_EQ(calib.count(k), 0u) << k;
  const Dataset sel = select_images(train, held);
  ASSERT_EQ(sel.count, 5000);
  for (size_t i : {size_t(0), size_t(1234), size_t(4999)}) {
    EXPECT_EQ(sel.labels[i], train.labels[size_t(held[i])]);
    EXPECT_TRUE(std::equal(sel.image(int64_t(i)), sel.image(int64_t(i)) + Dataset::kImageBytes, train.image(held[i])));
  }
}

// The README's fidelity command: `best` W8A8 keeps >= 99 % agreement on 5,000 held-out training images;
// every set is reported; the test row is the same agreement eval-based tests measure.
TEST(Robustness, BestAgreesWithFp32OnHeldOutTrainingImages) {
  testing::TempDir dir;
  const std::string model = dir.file("best.onnx"), json = dir.file("r.json");
  const auto qr = testing::run_tinyptq("quantize --model " + q(testing::resnet8_onnx()) + " --data " +
                                   q(testing::cifar_dir()) + " -o " + q(model));
  ASSERT_EQ(qr.exit_code, 0) << qr.output;
  const auto r = testing::run_tinyptq("robustness --model " + q(model) + " --reference " + q(testing::resnet8_onnx()) +
                                  " --data " + q(testing::cifar_dir()) + " --threads 2 --json " + q(json));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::printf("%s\n", r.output.c_str());
  const auto j = nlohmann::json::parse(read_text(json));
  const auto& sets = j.at("sets");
  std::vector<std::string> names;
  for (const auto& s : sets) names.push_back(s.at("set"));
  EXPECT_EQ(names, (std::vector<std::string>{"test", "held-out train", "jpeg q75", "brightness +0.08",
                                             "brightness -0.08", "contrast x0.80", "contrast x1.20"}));
  EXPECT_EQ(sets[1].at("images"), 5000);
  EXPECT_GE(sets[0].at("agreement").get<double>(), 99.0);
  EXPECT_GE(sets[1].at("agreement").get<double>(), 99.0);
  EXPECT_DOUBLE_EQ(sets[0].at("reference_accuracy").get<double>(), 88.1);
  EXPECT_NE(r.output.find("95% CI"), std::string::npos) << r.output;
  for (const auto& s : sets) {
    EXPECT_EQ(s.at("agree").get<int64_t>() * 100.0 / s.at("images").get<int64_t>(), s.at("agreement").get<double>());
    const stats::Interval ci = stats::wilson_interval(s.at("agree"), s.at("images"));
    const auto& j_ci = s.at("agreement_ci95");
    EXPECT_DOUBLE_EQ(j_ci.at(0).get<double>(), 100 * ci.lo) << s.at("set");
    EXPECT_DOUBLE_EQ(j_ci.at(1).get<double>(), 100 * ci.hi) << s.at("set");
    EXPECT_LE(j_ci.at(0).get<double>(), s.at("agreement").get<double>()) << s.at("set");
    EXPECT_GE(j_ci.at(1).get<double>(), s.at("agreement").get<double>()) << s.at("set");
    EXPECT_GE(s.at("agreement").get<double>(), 95.0) << s.at("set");  // degraded copies: see docs/fidelity.md
  }
}

TEST(Robustness, BadInputsFailCleanly) {
  testing::TempDir dir;
  const std::string json = dir.file("r.json");
  const std::string base = "robustness --model " + q(testing::resnet8_onnx()) + " --data " + q(testing::cifar_dir());
  auto r = testing::run_tinyptq(base + " --reference " + q(dir.file("missing.onnx")) + " --json " + q(json));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("missing.onnx"), std::string::npos) << r.output;
  // A lockfile drawn from the test split cannot define a held-out training set.
  const std::string lock = dir.file("lock.json");
  testing::write_bytes(lock, R"({"schema_version":1,"dataset":"cifar10","split":"test","seed":0,"per_class":1,"count":1,"indices":[3]})");
  r = testing::run_tinyptq(base + " --reference " + q(testing::resnet8_onnx()) + " --calib-indices " + q(lock) +
                       " --json " + q(json));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("lock.json"), std::string::npos) << r.output;
  // More held-out images per class than remain outside the calibration set.
  r = testing::run_tinyptq(base + " --reference " + q(testing::resnet8_onnx()) + " --heldout-per-class 990 --json " + q(json));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("held-out"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(json));
}

}  // namespace
}  // namespace tinyptq
