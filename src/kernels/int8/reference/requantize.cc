#include "kernels/int8/reference/requantize.h"

namespace tinyptq::int8::ref {

void requantize(const RequantizeParams& p, const uint8_t* x, uint8_t* y, int64_t count) {
  for (int64_t i = 0; i < count; ++i) y[i] = p.table[x[i]];
}

}  // namespace tinyptq::int8::ref
