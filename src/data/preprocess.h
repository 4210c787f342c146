// How CIFAR pixels become model input: per-channel affine normalization into NCHW or NHWC floats.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/cifar.h"

namespace tinyptq {

enum class Layout { kNCHW, kNHWC };
const char* layout_name(Layout l);              // "nchw" / "nhwc"
Layout parse_layout(const std::string& name);   // inverse (case-insensitive); Error on anything else

// x = (pixel * scale - mean[c]) / std[c], pixel in 0..255, c = 0 (R), 1 (G), 2 (B).
struct Preprocess {
  float scale = 1.0f;
  std::array<float, 3> mean{0, 0, 0};
  std::array<float, 3> std{1, 1, 1};
};

// "raw" (or ""): identity. "unit": scale 1/255. "imagenet": unit + ImageNet mean/std.
// "scale=S,mean=R,G,B,std=R,G,B": any subset of the keys, in any order; mean/std take 1 value (all channels)
// or 3; a value may be a fraction like 1/255. Error on unknown keys, repeats, non-finite values or std <= 0.
Preprocess parse_preprocess(const std::string& spec);
// The key=value spec of p (parse_preprocess(preprocess_str(p)) == p).
std::string preprocess_str(const Preprocess& p);

// Writes images [first, first + n) as floats into out (n × 3 × 32 × 32 values, in the given layout).
// Error if the range is outside the dataset.
void images_to_floats(const Dataset& d, int64_t first, int64_t n, Layout layout, const Preprocess& p, float* out);
// Same for the listed images, in list order. Error on any index outside the dataset.
void images_to_floats(const Dataset& d, const std::vector<int64_t>& indices, Layout layout, const Preprocess& p,
                      float* out);

}  // namespace tinyptq
