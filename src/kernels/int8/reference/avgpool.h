// Reference AveragePool 2-D on NHWC uint8.
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::ref {

// AvgPoolParams' formula (float or integer), d as counted there.
void avgpool(const AvgPoolParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows);

// s_x/(s_y·d) of output pixel (oy, ox), d counted as in AvgPoolParams. Every AveragePool kernel takes its
// multiplier from here, so that all of them requantize with the same float.
// d of output pixel (oy, ox).
int64_t avgpool_divisor(const AvgPoolParams& p, int64_t oy, int64_t ox);
float avgpool_multiplier(const AvgPoolParams& p, int64_t oy, int64_t ox);

}  // namespace tinyptq::int8::ref
