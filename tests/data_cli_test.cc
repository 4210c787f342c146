// --data with array files in eval and quantize: CIFAR-10 test images written as a uint8 NHWC .npy (+ labels)
// must give exactly what the CIFAR-10 directory gives, and bad array input fails with one line naming it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "core/tensor.h"
#include "data/cifar.h"
#include "data/npy.h"
#include "test_util.h"

namespace tinyptq {
namespace {

using testing::run_tinyptq;
using testing::shell_quote;

// The first n test images (the shared split holds 1,000) as [n, 32, 32, 3] uint8 (HWC, as ResNet8 takes them) and their
// labels.
void write_cifar_npy(int64_t n, const std::string& x_path, const std::string& y_path) {
  const Dataset d = load_cifar10(testing::cifar_dir(), Split::kTest, n);
  std::vector<int64_t> px(static_cast<size_t>(n) * 3072), labels(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    const uint8_t* img = d.image(k);
    for (int p = 0; p < 1024; ++p)
      for (int c = 0; c < 3; ++c) px[size_t(k * 3072 + p * 3 + c)] = img[c * 1024 + p];
    labels[size_t(k)] = d.labels[size_t(k)];
  }
  testing::write_bytes(x_path, npy_bytes(Tensor::from_ints(DType::kUint8, {n, 32, 32, 3}, std::move(px))));
  testing::write_bytes(y_path, npy_bytes(Tensor::from_ints(DType::kInt64, {n}, std::move(labels))));
}

// The "overall" row of the eval table, runs of spaces collapsed (class-name widths differ).
std::string overall_line(const std::string& out) {
  const size_t at = out.find("overall");
  if (at == std::string::npos) return "";
  std::string row = out.substr(at, out.find('\n', at) - at), squeezed;
  for (char c : row)
    if (c != ' ' || (!squeezed.empty() && squeezed.back() != ' ')) squeezed += c;
  return squeezed;
}

TEST(DataCli, EvalOnNpyEqualsEvalOnTheCifarDirectory) {
  testing::TempDir dir;
  write_cifar_npy(300, dir.file("x.npy"), dir.file("y.npy"));
  const std::string model = shell_quote(testing::resnet8_onnx());
  const auto ref =
      run_tinyptq("eval --model " + model + " --data " + shell_quote(testing::cifar_dir()) + " --limit 300");
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  const auto npy = run_tinyptq("eval --model " + model + " --data " + shell_quote(dir.file("x.npy")) + " --labels " +
                               shell_quote(dir.file("y.npy")));
  ASSERT_EQ(npy.exit_code, 0) << npy.output;
  ASSERT_FALSE(overall_line(ref.output).empty()) << ref.output;
  EXPECT_EQ(overall_line(npy.output), overall_line(ref.output)) << npy.output;
  std::printf("%s\n", overall_line(npy.output).c_str());
}

TEST(DataCli, QuantizeOnNpyWritesTheSameModelAsTheCifarDirectory) {
  testing::TempDir dir;
  write_cifar_npy(1000, dir.file("x.npy"), dir.file("y.npy"));
  const std::string common =
      "quantize --model " + shell_quote(testing::resnet8_onnx()) + " --preset ort-int8 --calib-per-class 20 --seed 7 ";
  const auto ref = run_tinyptq(common + "--data " + shell_quote(testing::cifar_dir()) +
                               " --calib-split test --force-test-calibration -o " + shell_quote(dir.file("a.onnx")));
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  const auto npy = run_tinyptq(common + "--data " + shell_quote(dir.file("x.npy")) + " --labels " +
                               shell_quote(dir.file("y.npy")) + " -o " + shell_quote(dir.file("b.onnx")));
  ASSERT_EQ(npy.exit_code, 0) << npy.output;
  const auto cmp =
      testing::run_command("cmp " + shell_quote(dir.file("a.onnx")) + " " + shell_quote(dir.file("b.onnx")));
  EXPECT_EQ(cmp.exit_code, 0) << cmp.output;
  // Without labels: a seeded draw of --calib-per-class samples in all (--calib-samples when given).
  const auto unl =
      run_tinyptq(common + "--data " + shell_quote(dir.file("x.npy")) + " -o " + shell_quote(dir.file("c.onnx")));
  ASSERT_EQ(unl.exit_code, 0) << unl.output;
  EXPECT_NE(unl.output.find("calibration: 20 images"), std::string::npos) << unl.output;
}

TEST(DataCli, BadArrayInputIsOneErrorNamingTheFile) {
  testing::TempDir dir;
  const std::string model = shell_quote(testing::resnet8_onnx());
  testing::write_bytes(dir.file("garbage.npy"), "\x93NUMPY\x01 definitely not a header");
  testing::write_bytes(dir.file("shape.npy"), npy_bytes(Tensor::from_floats({2, 3, 4}, std::vector<float>(24, 0.f))));
  testing::write_bytes(dir.file("y.npy"), npy_bytes(Tensor::from_ints(DType::kInt64, {5}, {0, 1, 2, 3, 4})));
  testing::write_bytes(dir.file("y2.npy"), npy_bytes(Tensor::from_ints(DType::kInt64, {2}, {0, 1})));
  write_cifar_npy(4, dir.file("x4.npy"), dir.file("y4.npy"));
  struct Case {
    std::string args, names;
  };
  const std::vector<Case> cases = {
      {"eval --data " + shell_quote(dir.file("garbage.npy")), "garbage.npy"},
      {"eval --data " + shell_quote(dir.file("shape.npy")) + " --labels " + shell_quote(dir.file("y2.npy")),
       "shape.npy"},
      {"eval --data " + shell_quote(dir.file("x4.npy")) + " --labels " + shell_quote(dir.file("y.npy")), "y.npy"},
      {"eval --data " + shell_quote(dir.file("x4.npy")), "no labels"},
      {"eval --data " + shell_quote(dir.file("missing.npy")), "missing.npy"},
      {"quantize -o " + shell_quote(dir.file("out.onnx")) + " --data " + shell_quote(dir.file("shape.npy")),
       "shape.npy"},
  };
  for (const Case& c : cases) {
    const auto r = run_tinyptq(c.args + " --model " + model);
    EXPECT_EQ(r.exit_code, 1) << c.args << "\n" << r.output;
    EXPECT_EQ(r.output.rfind("tinyptq: error: ", 0), 0u) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_NE(r.output.find(c.names), std::string::npos) << r.output;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("out.onnx")));
}

}  // namespace
}  // namespace tinyptq
