// The FP32 engine on the real ResNet8 against ONNX Runtime: 881/1000 on test-1k, top-1 identical on every
// image, probabilities within 1e-5 — for the imported graph (explicit BatchNormalization, NHWC input with
// Transpose, Gemm + Softmax) and for a differently structured export of it (BatchNormalization folded).
#include <gtest/gtest.h>

#include <cmath>

#include "data/cifar.h"
#include "engine/fp32_engine.h"
#include "eval/evaluate.h"
#include "ir/passes.h"
#include "onnx/onnx_reader.h"
#include "onnx/onnx_writer.h"
#include "ort/ort_runner.h"
#include "test_util.h"

namespace tinyptq {
namespace {

int argmax(const float* row, int64_t n) {
  int best = 0;
  for (int64_t c = 1; c < n; ++c)
    if (row[c] > row[best]) best = int(c);
  return best;
}

void expect_matches_ort(const std::string& path, const Graph& g) {
  ASSERT_TRUE(ort_available()) << ort_unavailable_reason();
  Dataset test = load_cifar10(testing::cifar_dir(), Split::kTest);
  Tensor x = image_batch(test, 0, test.count, Layout::kNHWC, {});
  Tensor ours = Fp32Engine(g).run(x)[0];
  Tensor ort = run_ort(path, x, 2);
  ASSERT_EQ(ours.shape, ort.shape);
  const int64_t classes = ours.shape[1];
  int64_t correct = 0, same = 0;
  double max_diff = 0;
  for (int64_t i = 0; i < test.count; ++i) {
    const int a = argmax(ours.f.data() + i * classes, classes), b = argmax(ort.f.data() + i * classes, classes);
    same += a == b;
    correct += a == test.labels[size_t(i)];
    for (int64_t c = 0; c < classes; ++c)
      max_diff = std::max(max_diff, double(std::abs(ours.f[i * classes + c] - ort.f[i * classes + c])));
  }
  EXPECT_EQ(correct, 881);
  EXPECT_EQ(same, test.count);
  EXPECT_LE(max_diff, 1e-5);
}

TEST(Resnet8Ort, ImportedModelMatchesOnnxRuntimeOnEveryImage) {
  const std::string path = testing::resnet8_onnx();
  expect_matches_ort(path, load_onnx(path));
}

TEST(Resnet8Ort, BatchNormFoldedExportGivesTheSamePredictions) {
  Graph g = load_onnx(testing::resnet8_onnx());
  canonicalize(g);
  for (const auto& n : g.nodes) ASSERT_NE(n.op, Op::kBatchNormalization);
  testing::TempDir dir;
  const std::string path = dir.file("folded.onnx");
  save_onnx(g, path);
  expect_matches_ort(path, load_onnx(path));
}

}  // namespace
}  // namespace tinyptq
