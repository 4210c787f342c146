// tinyptq eval --reference: fidelity of a QDQ ResNet8 against its FP32 original on unlabelled .npy images,
// checked against the same metrics computed in-process from both engines' outputs; with labels, the accuracy
// equals plain `eval`'s; a model against itself is exact; a reference that does not fit the data is one error
// naming it, with no JSON written.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/atomic_file.h"
#include "data/cifar.h"
#include "data/npy.h"
#include "eval/evaluate.h"
#include "eval/fidelity.h"
#include "eval/model_io.h"
#include "onnx/onnx_reader.h"
#include "test_util.h"

namespace tinyptq {
namespace {

using testing::run_tinyptq;
using testing::shell_quote;

constexpr int64_t kImages = 300;

class EvalReference : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir;
    fp32_ = testing::resnet8_onnx();
    qdq_ = dir_->file("q.onnx");
    const auto q = run_tinyptq("quantize --model " + shell_quote(fp32_) + " --data " + shell_quote(testing::cifar_dir()) +
                               " --preset ort-int8 --calib-per-class 10 --seed 3 -o " + shell_quote(qdq_));
    ASSERT_EQ(q.exit_code, 0) << q.output;
    const Dataset d = load_cifar10(testing::cifar_dir(), Split::kTest, kImages);
    images_ = new Tensor(image_batch(d, 0, kImages, Layout::kNHWC, Preprocess{}));
    testing::write_bytes(dir_->file("x.npy"), npy_bytes(*images_));
    std::vector<int64_t> y(d.labels.begin(), d.labels.end());
    Tensor labels = Tensor::from_ints(DType::kInt64, {kImages}, std::move(y));
    testing::write_bytes(dir_->file("y.npy"), npy_bytes(labels));
  }
  static void TearDownTestSuite() {
    delete images_;
    delete dir_;
  }
  static nlohmann::json eval_json(const std::string& args, const std::string& name) {
    const std::string json = dir_->file(name);
    const auto r = run_tinyptq("eval " + args + " --json " + shell_quote(json));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::printf("%s", r.output.c_str());
    return nlohmann::json::parse(read_file(json));
  }
  static testing::TempDir* dir_;
  static std::string fp32_, qdq_;
  static Tensor* images_;
};
testing::TempDir* EvalReference::dir_ = nullptr;
std::string EvalReference::fp32_, EvalReference::qdq_;
Tensor* EvalReference::images_ = nullptr;

TEST_F(EvalReference, UnlabelledFidelityMatchesBothEnginesOutputs) {
  const nlohmann::json j = eval_json("--model " + shell_quote(qdq_) + " --reference " + shell_quote(fp32_) +
                                         " --data " + shell_quote(dir_->file("x.npy")) + " --batch 64",
                                     "f.json");
  auto q = make_engine(load_onnx(qdq_));
  auto f = make_engine(load_onnx(fp32_));
  ASSERT_EQ(q->backend(), "int8");
  ASSERT_EQ(f->backend(), "fp32");
  const FidelityResult want = fidelity(f->run(*images_), q->run(*images_), kImages);
  EXPECT_EQ(j["samples"], kImages);
  EXPECT_EQ(j["backend"], "int8");
  EXPECT_EQ(j["reference_backend"], "fp32");
  const auto& fj = j["fidelity"];
  EXPECT_EQ(fj["agree"].get<int64_t>(), want.agree);
  EXPECT_NEAR(fj["sqnr_db"].get<double>(), want.sqnr_db, 1e-4);
  EXPECT_NEAR(fj["mean_cosine"].get<double>(), want.mean_cosine, 1e-6);
  EXPECT_NEAR(fj["max_abs_error"].get<double>(), want.max_abs_error, 1e-5);
  ASSERT_EQ(fj["per_output_mse"].size(), 1u);
  EXPECT_NEAR(fj["per_output_mse"][0]["mse"].get<double>(), want.per_output[0].mse, 1e-8);
  // An 8-bit ResNet8 is close to, but not equal to, FP32 (measured: 290/300 agree, 20.2 dB, cosine 0.993).
  EXPECT_GT(want.agreement, 93.0);
  EXPECT_LT(want.agreement, 100.0);
  EXPECT_GT(want.sqnr_db, 15.0);
  EXPECT_GT(want.mean_cosine, 0.98);
  EXPECT_FALSE(j.contains("overall")) << "no labels: no accuracy";
  std::printf("qdq vs fp32 on %lld images: agreement %lld, SQNR %.2f dB, cosine %.4f\n", (long long)kImages,
              (long long)want.agree, want.sqnr_db, want.mean_cosine);
}

TEST_F(EvalReference, LabelledAccuracyEqualsPlainEval) {
  const std::string data = " --data " + shell_quote(dir_->file("x.npy")) + " --labels " + shell_quote(dir_->file("y.npy"));
  const nlohmann::json with = eval_json("--model " + shell_quote(qdq_) + " --reference " + shell_quote(fp32_) + data, "w.json");
  const nlohmann::json plain_q = eval_json("--model " + shell_quote(qdq_) + data, "pq.json");
  const nlohmann::json plain_f = eval_json("--model " + shell_quote(fp32_) + data, "pf.json");
  EXPECT_EQ(with["overall"]["correct"], plain_q["overall"]["correct"]);
  EXPECT_EQ(with["reference_overall"]["correct"], plain_f["overall"]["correct"]);
  ASSERT_EQ(with["per_class"].size(), plain_q["per_class"].size());
  for (size_t c = 0; c < with["per_class"].size(); ++c)
    EXPECT_EQ(with["per_class"][c]["accuracy"], plain_q["per_class"][c]["accuracy"]) << c;
}

TEST_F(EvalReference, ModelAgainstItselfIsExact) {
  const nlohmann::json j = eval_json("--model " + shell_quote(fp32_) + " --reference " + shell_quote(fp32_) +
                                         " --data " + shell_quote(dir_->file("x.npy")) + " --limit 50",
                                     "self.json");
  EXPECT_EQ(j["samples"], 50);
  EXPECT_EQ(j["fidelity"]["agree"], 50);
  EXPECT_EQ(j["fidelity"]["sqnr_db"], "inf");
  EXPECT_EQ(j["fidelity"]["max_abs_error"].get<double>(), 0.0);
  EXPECT_EQ(j["fidelity"]["mean_cosine"].get<double>(), 1.0);
}

TEST_F(EvalReference, CifarDirectoryWithReference) {
  const nlohmann::json j = eval_json("--model " + shell_quote(qdq_) + " --reference " + shell_quote(fp32_) +
                                         " --data " + shell_quote(testing::cifar_dir()) + " --limit 200",
                                     "cifar.json");
  EXPECT_EQ(j["samples"], 200);
  EXPECT_EQ(j["per_class"][0]["class_name"], "airplane");
  EXPECT_EQ(j["overall"]["total"], 200);
}

// A truncated reference, or data that fits neither model: one error naming the file, and no JSON.
TEST_F(EvalReference, BadReferenceOrDataIsAnError) {
  const std::string ae = dir_->file("truncated.onnx");
  testing::write_bytes(ae, read_file(fp32_).substr(0, 1000));
  const std::string json = dir_->file("bad.json");
  const auto r = run_tinyptq("eval --model " + shell_quote(qdq_) + " --reference " + shell_quote(ae) + " --data " +
                             shell_quote(dir_->file("x.npy")) + " --json " + shell_quote(json));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(ae), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(json));
  // Data that fits neither model.
  Tensor wrong = Tensor::zeros({4, 16, 16, 3});
  testing::write_bytes(dir_->file("wrong.npy"), npy_bytes(wrong));
  const auto w = run_tinyptq("eval --model " + shell_quote(qdq_) + " --reference " + shell_quote(fp32_) + " --data " +
                             shell_quote(dir_->file("wrong.npy")) + " --json " + shell_quote(json));
  EXPECT_NE(w.exit_code, 0);
  EXPECT_NE(w.output.find("wrong.npy"), std::string::npos) << w.output;
  EXPECT_FALSE(std::filesystem::exists(json));
}

}  // namespace
}  // namespace tinyptq
