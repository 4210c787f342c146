// Reference requantization uint8 → uint8 between two quantizations (table from make_requantize_table).
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::ref {

// y = table[x].
void requantize(const RequantizeParams& p, const uint8_t* x, uint8_t* y, int64_t count);

}  // namespace tinyptq::int8::ref
