// Bilinear resize with half-pixel centres, no antialiasing: the rule of OpenCV's INTER_LINEAR and of ONNX
// Resize (mode linear, coordinate_transformation_mode half_pixel), computed in float and not rounded back
// to 8 bits. For an output column x of W' (rows likewise, input width W):
//   s = clamp((x + 0.5) * W / W' - 0.5, 0, W - 1),  x0 = floor(s),  x1 = min(x0 + 1, W - 1),  f = s - x0
//   out = (1 - fy) * ((1 - fx) * in[y0][x0] + fx * in[y0][x1]) + fy * ((1 - fx) * in[y1][x0] + fx * in[y1][x1])
// Equal sizes reproduce the input exactly (f = 0); an integer 2x downscale averages 2 × 2 blocks.
#pragma once
#include <vector>

#include "data/image_decode.h"

namespace tinyptq {

// out_h × out_w × 3 floats (HWC, values 0..255). Error unless out_h, out_w > 0 and img is non-empty.
std::vector<float> resize_bilinear(const RgbImage& img, int out_h, int out_w);

}  // namespace tinyptq
