// Reference GlobalAveragePool on NHWC uint8: [images][image_size][channels] → [images][channels].
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::ref {

// GlobalAvgPoolParams' formula (float or integer), S = Σ x − image_size·zx, through ref::pool_output.
void global_avgpool(const GlobalAvgPoolParams& p, const uint8_t* x, uint8_t* y, int64_t images);

}  // namespace tinyptq::int8::ref
