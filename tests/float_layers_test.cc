// Layers kept in float inside a quantized model (per-layer sensitivity, mixed precision): the integer
// engine runs them on the FP32 engine's packed kernels and must compute what the float simulation of the
// same QDQ graph computes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "data/calibration.h"
#include "eval/evaluate.h"
#include "eval/model_io.h"
#include "quant/quantizer.h"
#include "test_util.h"

namespace tinyptq {
namespace {

TEST(FloatLayers, IntegerEngineMatchesFloatSimulationWithFloatConvLayers) {
  const Graph model = load_model(testing::resnet8_h5());
  const Dataset train = load_cifar10(testing::cifar_dir(), Split::kTrain);
  const Dataset test = load_cifar10(testing::cifar_dir(), Split::kTest, 200);
  const CalibrationSet cs = stratified_sample(train, 10, 0);
  const Calibration calib(model, image_batch(train, cs.indices, Layout::kNHWC, {}));
  QuantRecipe recipe = preset_recipe("ort-uint8");
  // A 3×3 stride-1 conv, a 3×3 stride-2 conv and a 1×1 stride-2 shortcut conv stay float.
  for (const char* layer : {"conv2d_1", "conv2d_3", "conv2d_5"}) recipe.layers[layer].keep_float = true;
  QuantizeOptions qo;
  qo.sqnr_images = 0;
  const Graph q = quantize(calib, recipe, qo).model.graph;
  int float_convs = 0;
  for (const auto& n : q.nodes)
    if (n.op == Op::kConv && q.is_initializer(n.inputs[1]) && q.initializer(n.inputs[1])->dtype == DType::kFloat32)
      ++float_convs;
  ASSERT_EQ(float_convs, 3) << "the recipe did not keep the three convs in float";

  const Tensor x = image_batch(test, 0, test.count, Layout::kNHWC, {});
  const Tensor yi = make_engine(q, 2, EngineKind::kInteger)->run(x)[0];
  const Tensor yf = make_engine(q, 1, EngineKind::kFloat)->run(x)[0];
  ASSERT_EQ(yi.shape, yf.shape);
  int same = 0;
  double max_diff = 0;
  for (int64_t i = 0; i < test.count; ++i) {
    const float* a = yi.f.data() + i * 10;
    const float* b = yf.f.data() + i * 10;
    same += std::max_element(a, a + 10) - a == std::max_element(b, b + 10) - b;
    for (int c = 0; c < 10; ++c) max_diff = std::max(max_diff, double(std::fabs(a[c] - b[c])));
  }
  EXPECT_GE(same, 197) << "top-1 of the integer engine and the float simulation differ on too many images";
  EXPECT_LT(max_diff, 0.1) << "softmax outputs differ by more than requantization rounding explains";
}

// quantize --keep-float: the named layers keep float weights and no output quantization point, the rest is
// quantized as without the flag; the JSON records the names; a name that is not a layer is one clear error
// naming it and the valid names, with no output written.
TEST(FloatLayers, QuantizeKeepFloatLeavesTheNamedLayersFloat) {
  testing::TempDir dir;
  const std::string base = "quantize --model " + testing::shell_quote(testing::resnet8_onnx()) + " --data " +
                           testing::shell_quote(testing::cifar_dir()) + " --preset ort-int8 --calib-per-class 2";
  const auto r = testing::run_tinyptq(base + " --keep-float conv2d_3,dense -o " +
                                      testing::shell_quote(dir.file("q.onnx")) + " --json " +
                                      testing::shell_quote(dir.file("q.json")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("kept float: conv2d_3, dense"), std::string::npos) << r.output;
  const Graph q = load_model(dir.file("q.onnx"));
  std::map<std::string, bool> float_weights;  // node name → its weight initializer is float
  int dequantize_linear = 0;
  for (const auto& n : q.nodes) {
    if (n.op == Op::kConv || n.op == Op::kGemm)  // quantized weights arrive through a DequantizeLinear
      float_weights[n.name] = q.is_initializer(n.inputs[1]) && q.initializer(n.inputs[1])->dtype == DType::kFloat32;
    dequantize_linear += n.op == Op::kDequantizeLinear;
  }
  EXPECT_TRUE(float_weights["conv2d_3"]) << "conv2d_3 has quantized weights";
  EXPECT_TRUE(float_weights["dense"]) << "dense has quantized weights";
  int quantized_layers = 0;
  for (const auto& [name, is_float] : float_weights) quantized_layers += !is_float;
  EXPECT_EQ(quantized_layers, 8) << "the other 8 convs must stay quantized";
  EXPECT_GT(dequantize_linear, 0);
  std::ifstream js(dir.file("q.json"));
  const auto j = nlohmann::json::parse(js);
  EXPECT_EQ(j.at("keep_float"), nlohmann::json::array({"conv2d_3", "dense"}));
  for (const auto& l : j.at("layers")) EXPECT_NE(l.at("node"), "conv2d_3") << "a float layer listed as quantized";

  const auto bad = testing::run_tinyptq(base + " --keep-float conv2d_3,dens -o " +
                                        testing::shell_quote(dir.file("bad.onnx")));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("no quantizable layer named 'dens'"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("conv2d_1"), std::string::npos) << "the error should list the layer names";
  EXPECT_FALSE(std::ifstream(dir.file("bad.onnx")).good()) << "an output was written despite the error";
}

}  // namespace
}  // namespace tinyptq
