// TensorFlow's output size and explicit padding for one spatial axis of a conv/pool window.
//   effective kernel  ke = (k − 1)·dilation + 1
//   'same':  out = ceil(in / stride), total = max((out − 1)·stride + ke − in, 0),
//            before = total / 2, after = total − before   (the extra pixel goes after: stride 2 on an
//            even input pads 0 before and 1 after)
//   'valid': out = floor((in − ke) / stride) + 1, no padding
#pragma once
#include <cstdint>

#include "keras/layer_configs.h"

namespace tinyptq {

struct AxisWindow {
  int64_t in = 0, kernel = 1, stride = 1, dilation = 1;
};

struct AxisPadding {
  int64_t before = 0, after = 0;
  int64_t out = 0;  // ≤ 0 when a 'valid' window is larger than the input
};

AxisPadding tf_axis_padding(const AxisWindow& w, KerasPadding padding);

}  // namespace tinyptq
