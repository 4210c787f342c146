// tinyptq study on a model/data pair that is not ResNet8 on a CIFAR-10 directory:
//  - a Dense autoencoder (built here) on unlabelled .npy frames, calibrated from a separate .npy: the report
//    says accuracy is agreement with FP32, and every configuration carries its output SQNR against FP32;
//  - ResNet8 on PNG class folders (CIFAR-10 images written here), calibrated from another folder: the class
//    names come from the folders and the FP32 accuracy is `eval`'s on the same folder.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "core/atomic_file.h"
#include "data/cifar.h"
#include "data/npy.h"
#include "model_fixtures.h"
#include "onnx/onnx_writer.h"
#include "test_util.h"

namespace tinyptq {
namespace {

using namespace tinyptq::testing;

nlohmann::json results(const std::string& out) { return nlohmann::json::parse(read_file(out + "/results.json")); }

TEST(StudyAnyModel, AutoencoderOnUnlabelledNpy) {
  TempDir dir;
  save_onnx(autoencoder_model(1), dir.file("ae.onnx"));
  write_bytes(dir.file("x.npy"), npy_bytes(autoencoder_frames(300, 3)));
  write_bytes(dir.file("calib.npy"), npy_bytes(autoencoder_frames(400, 2)));
  const std::string out = dir.file("out");
  const auto r = run_tinyptq("study --model " + shell_quote(dir.file("ae.onnx")) + " --data " +
                             shell_quote(dir.file("x.npy")) + " --calib-data " + shell_quote(dir.file("calib.npy")) +
                             " --quick --jobs 2 -o " + shell_quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::printf("%s\n", r.output.c_str());
  const nlohmann::json j = results(out);
  EXPECT_FALSE(j["labelled"].get<bool>());
  EXPECT_FALSE(j["calibration_from_evaluation_data"].get<bool>());
  EXPECT_EQ(j["fp32"]["total"], 300);
  EXPECT_EQ(j["fp32"]["accuracy"], 100.0);  // agreement of FP32 with itself
  // Without labels a draw is per_class × 10 samples, all 400 here.
  EXPECT_EQ(nlohmann::json::parse(read_file(out + "/calibration.json"))["count"], 400);
  ASSERT_GT(j["configurations"].size(), 5u);
  double best8 = -1;
  for (const auto& [name, c] : j["configurations"].items()) {
    ASSERT_TRUE(c["output_sqnr_db"].is_number()) << name;
    EXPECT_EQ(c["accuracy"], c["agreement_with_fp32"]) << name;  // no labels: accuracy is agreement
    if (c["group"] == "preset" && c["wbits"] == 8 && c["abits"] == 8)
      best8 = std::max(best8, c["output_sqnr_db"].get<double>());
  }
  // autoencoder_test measures 29.4 dB for W8A8 `best` (8-bit output) from 1,000 frames; 400 here.
  EXPECT_GT(best8, 25.0);
  const std::string md = read_file(out + "/REPORT.md");
  EXPECT_NE(md.find("no labels"), std::string::npos);
  EXPECT_NE(md.find("SQNR dB"), std::string::npos);
  EXPECT_NE(read_file(out + "/report.html").find("no labels"), std::string::npos);
  std::printf("autoencoder study: best 8-bit preset output SQNR %.1f dB\n", best8);
}

TEST(StudyAnyModel, ResNet8OnPngClassFolders) {
  TempDir dir;
  const Dataset test = load_cifar10(cifar_dir(), Split::kTest, 200);
  std::vector<int64_t> test_idx(200);
  for (int64_t k = 0; k < 200; ++k) test_idx[size_t(k)] = k;
  write_cifar_png_folder(test, test_idx, dir.file("test"));
  const Dataset train = load_cifar10(cifar_dir(), Split::kTrain);
  std::vector<int64_t> per(10, 0), calib_idx;
  for (int64_t k = 0; k < train.count && calib_idx.size() < 100; ++k)
    if (per[train.labels[size_t(k)]]++ < 10) calib_idx.push_back(k);
  write_cifar_png_folder(train, calib_idx, dir.file("calib"));
  const std::string model = shell_quote(resnet8_onnx()), out = dir.file("out");
  const auto r = run_tinyptq("study --model " + model + " --data " + shell_quote(dir.file("test")) + " --calib-data " +
                             shell_quote(dir.file("calib")) + " --calib-per-class 5 --quick --jobs 2 -o " + shell_quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = results(out);
  EXPECT_TRUE(j["labelled"].get<bool>());
  EXPECT_EQ(j["fp32"]["class_names"], nlohmann::json(test.class_names));  // sorted folder names
  EXPECT_EQ(nlohmann::json::parse(read_file(out + "/calibration.json"))["count"], 50);
  const auto e = run_tinyptq("eval --model " + model + " --data " + shell_quote(dir.file("test")) + " --json " +
                             shell_quote(dir.file("eval.json")));
  ASSERT_EQ(e.exit_code, 0) << e.output;
  EXPECT_EQ(j["fp32"]["correct"], nlohmann::json::parse(read_file(dir.file("eval.json")))["overall"]["correct"]);
  for (const auto& [name, c] : j["configurations"].items()) EXPECT_TRUE(c["output_sqnr_db"].is_number()) << name;
  EXPECT_NE(read_file(out + "/REPORT.md").find("| dog "), std::string::npos);  // per-class table by folder name
}

// No --calib-data: calibration draws from the evaluation data, and the report says so.
TEST(StudyAnyModel, CalibrationFromTheEvaluationDataIsNoted) {
  TempDir dir;
  save_onnx(autoencoder_model(2), dir.file("ae.onnx"));
  write_bytes(dir.file("x.npy"), npy_bytes(autoencoder_frames(120, 5)));
  const std::string out = dir.file("out");
  const auto r = run_tinyptq("study --model " + shell_quote(dir.file("ae.onnx")) + " --data " +
                             shell_quote(dir.file("x.npy")) + " --quick --calib-per-class 5 -o " + shell_quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(results(out)["calibration_from_evaluation_data"].get<bool>());
  EXPECT_NE(read_file(out + "/REPORT.md").find("calibration and evaluation overlap"), std::string::npos);
}

// Data that does not fit the model: one error naming the file, and no output directory.
TEST(StudyAnyModel, DataThatDoesNotFitIsOneErrorAndNoOutput) {
  TempDir dir;
  save_onnx(autoencoder_model(1), dir.file("ae.onnx"));
  write_bytes(dir.file("x.npy"), npy_bytes(Tensor::zeros({10, 64})));
  const std::string out = dir.file("out");
  const auto r = run_tinyptq("study --model " + shell_quote(dir.file("ae.onnx")) + " --data " +
                             shell_quote(dir.file("x.npy")) + " --quick -o " + shell_quote(out));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("x.npy"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace tinyptq
