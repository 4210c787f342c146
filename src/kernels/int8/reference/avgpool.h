// Reference AveragePool 2-D on NHWC uint8.
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::ref {

// AvgPoolParams' formula (float or integer), d as counted there.
void avgpool(const AvgPoolParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows);

// d of output pixel (oy, ox).
int64_t avgpool_divisor(const AvgPoolParams& p, int64_t oy, int64_t ox);

// The output stage of output pixel (oy, ox). Every AveragePool kernel takes its constants from here, so
// that all of them requantize with the same float multiplier or the same fixed-point one.
struct AvgPoolStage {
  int32_t divisor = 1;          // d
  float multiplier = 1;         // float: s_x/(s_y·d)
  bool same_quant = false;      // integer: equal input and output quantization → rounded_average(S, d)
  FixedPointMultiplier fixed;   // integer, !same_quant: QuantizeMultiplier(double(s_x)/(double(s_y)·d))
};
AvgPoolStage avgpool_stage(const AvgPoolParams& p, int64_t oy, int64_t ox);

// The stage of every GlobalAveragePool output (d = image_size; same_quant and fixed as the params hold them).
AvgPoolStage global_avgpool_stage(const GlobalAvgPoolParams& p);

// y code of one window sum S under the stage, in float or integer arithmetic (the formula of AvgPoolParams
// and GlobalAvgPoolParams).
int32_t pool_output(bool integer, const AvgPoolStage& st, const OutputStage& o, int32_t sum);

}  // namespace tinyptq::int8::ref
