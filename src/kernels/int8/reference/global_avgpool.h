// Reference GlobalAveragePool on NHWC uint8: [images][image_size][channels] → [images][channels].
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::ref {

// y = clamp(round_half_even(float(Σ x − image_size·zx) · M) + zy), M = s_x/(s_y·image_size).
void global_avgpool(const GlobalAvgPoolParams& p, const uint8_t* x, uint8_t* y, int64_t images);

}  // namespace tinyptq::int8::ref
