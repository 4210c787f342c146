// Reference MaxPool 2-D on NHWC uint8.
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::ref {

// y = table[max over taps inside the input of x] (padding never wins).
void maxpool(const MaxPoolParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows);

}  // namespace tinyptq::int8::ref
