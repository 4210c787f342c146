// fit_bias_to_int32 (quant/qdq_rewrite.h): a pruned channel (all-zero weights, scale at the 1e-12 floor)
// gets a scale whose int32 bias fits the accumulator contract; other channels stay bit for bit.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/int8/kernel_table.h"
#include "quant/qdq_rewrite.h"
#include "quant/weight_quantizer.h"

namespace tinyptq {
namespace {

TEST(BiasFit, PrunedChannelScaleIsRaisedOthersUntouched) {
  // Two output channels of 4 taps each: channel 0 ordinary, channel 1 all zeros.
  QuantizedWeight w;
  w.q = Tensor::from_ints(DType::kInt8, {2, 4}, {10, -20, 127, -127, 0, 0, 0, 0});
  w.params.scale = {0.01f, 1e-12f};
  w.params.zero_point = {0, 0};
  w.params.axis = 0;
  w.params.format = QuantFormat{Container::kInt8, 8, true, true};
  const Tensor bias = Tensor::from_floats({2}, {0.25f, -0.5f});
  const float sx = 0.02f;
  EXPECT_LT(quantize_bias(bias, sx, w.params).i[1], -2000000000);  // saturates before the fit

  const QuantizedWeight fit = fit_bias_to_int32(w, bias, sx);
  EXPECT_EQ(fit.params.scale[0], 0.01f);
  EXPECT_GT(fit.params.scale[1], 1e-9f);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(fit.q.i[size_t(k)], w.q.i[size_t(k)]);
  for (int k = 4; k < 8; ++k) EXPECT_EQ(fit.q.i[size_t(k)], 0);
  const Tensor bq = quantize_bias(bias, sx, fit.params);
  ASSERT_TRUE(int8::fits_int32_accumulator(4, std::vector<int32_t>{int32_t(bq.i[0]), int32_t(bq.i[1])}.data(), 2));
  // The bias still means what it meant: s_x·s_w'·b_q ≈ −0.5.
  EXPECT_NEAR(double(bq.i[1]) * sx * double(fit.params.scale[1]), -0.5, 1e-6);

  // Nothing to fit: identical.
  const QuantizedWeight same = fit_bias_to_int32(fit, bias, sx);
  EXPECT_EQ(same.params.scale, fit.params.scale);
  EXPECT_EQ(same.q.i, fit.q.i);
}

}  // namespace
}  // namespace tinyptq
