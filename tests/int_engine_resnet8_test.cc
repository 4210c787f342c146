// The integer engine on the real ResNet8 quantized with the `best` preset (../shared): every kernel table
// this CPU runs (SIMD kernels, packed weights, padded sources) gives outputs bit-identical to the
// reference kernels, for batch 1 (rows split between threads), batch 7 and batch 64 (images claimed by
// threads) and 1, 2 or 3 threads.
#include <gtest/gtest.h>

#include "data/calibration.h"
#include "engine/int_engine.h"
#include "eval/evaluate.h"
#include "eval/model_io.h"
#include "kernels/int8/kernel_table.h"
#include "quant/quantizer.h"
#include "test_util.h"

namespace tinyptq {
namespace {

const Graph& best_model() {
  static const Graph* g = [] {
    const Graph model = load_model(testing::resnet8_h5());
    const Dataset train = load_cifar10(testing::cifar_dir(), Split::kTrain, 2000);
    const CalibrationSet cs = stratified_sample(train, 20, 0);
    Calibration calib(model, image_batch(train, cs.indices, Layout::kNHWC, {}));
    QuantizeOptions qo;
    qo.sqnr_images = 0;
    return new Graph(quantize(calib, preset_recipe("best"), qo).model.graph);
  }();
  return *g;
}

TEST(IntEngineResnet8, EveryKernelTableAndThreadCountGivesTheReferenceOutputs) {
  const Graph& g = best_model();
  const Dataset test = load_cifar10(testing::cifar_dir(), Split::kTest, 64);
  const Tensor x = image_batch(test, 0, 64, Layout::kNHWC, {});
  IntEngine reference(g, {1, &int8::reference_kernels()});
  const Tensor want = reference.run(x).at(0);
  ASSERT_EQ(want.shape, (Shape{64, 10}));
  for (const int8::KernelTable* table : int8::available_kernels())
    for (int threads : {1, 2, 3}) {
      SCOPED_TRACE(std::string(table->isa) + ", " + std::to_string(threads) + " threads");
      IntEngine engine(g, {threads, table});
      EXPECT_EQ(engine.run(x).at(0).f, want.f) << "batch 64";
      for (int64_t first : {0, 7, 57}) {
        const int64_t n = first == 7 ? 7 : 1;
        const Tensor part = image_batch(test, first, n, Layout::kNHWC, {});
        const Tensor got = engine.run(part).at(0);
        ASSERT_EQ(got.f.size(), size_t(n * 10));
        EXPECT_TRUE(std::equal(got.f.begin(), got.f.end(), want.f.begin() + first * 10))
            << "images " << first << ".." << first + n - 1;
      }
    }
}

// Integer requantization (TFLite / CMSIS-NN fixed point): Conv and Gemm run on each table's kernel where it
// is fixed_point, and every table gives the reference table's integer outputs bit for bit.
TEST(IntEngineResnet8, IntegerRequantizationOnEveryKernelTableGivesTheReferenceOutputs) {
  const Graph& g = best_model();
  const Dataset test = load_cifar10(testing::cifar_dir(), Split::kTest, 64);
  const Tensor x = image_batch(test, 0, 64, Layout::kNHWC, {});
  IntEngine reference(g, {1, &int8::reference_kernels(), Requantization::kInteger});
  const Tensor want = reference.run(x).at(0);
  IntEngine as_float(g, {1, &int8::reference_kernels(), Requantization::kFloat});
  EXPECT_NE(as_float.run(x).at(0).f, want.f) << "the two arithmetics should differ somewhere on 64 images";
  for (const int8::KernelTable* table : int8::available_kernels())
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::string(table->isa) + ", " + std::to_string(threads) + " threads");
      IntEngine engine(g, {threads, table, Requantization::kInteger});
      if (table->conv.fixed_point) {
        EXPECT_NE(engine.describe().find(table->conv.name), std::string::npos) << engine.describe();
      }
      EXPECT_EQ(engine.run(x).at(0).f, want.f);
    }
}

}  // namespace
}  // namespace tinyptq
