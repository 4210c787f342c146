#include "keras/tf_padding.h"

#include <algorithm>

namespace tinyptq {

AxisPadding tf_axis_padding(const AxisWindow& w, KerasPadding padding) {
  const int64_t ke = (w.kernel - 1) * w.dilation + 1;
  AxisPadding p;
  if (padding == KerasPadding::kValid) {
    p.out = w.in >= ke ? (w.in - ke) / w.stride + 1 : 0;
    return p;
  }
  p.out = (w.in + w.stride - 1) / w.stride;
  const int64_t total = std::max<int64_t>((p.out - 1) * w.stride + ke - w.in, 0);
  p.before = total / 2;
  p.after = total - p.before;
  return p;
}

}  // namespace tinyptq
