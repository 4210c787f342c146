// Degraded copies of an image set, to measure whether a quantized model's agreement with FP32 holds off
// the exact test images: a JPEG round trip and small photometric shifts. Every transform maps 8-bit
// pixels to 8-bit pixels (rounded half away from zero, clamped to 0..255), is deterministic, and keeps
// labels and class names.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/cifar.h"

namespace tinyptq {

enum class Degradation {
  kJpeg,        // encode at quality `amount` (1..100, 4:2:0 chroma, libjpeg's islow DCT), decode
  kBrightness,  // p + amount·255
  kContrast,    // mean + amount·(p − mean), mean over the image's pixels (all channels)
};

struct DegradeSpec {
  Degradation kind = Degradation::kJpeg;
  double amount = 75;
  std::string name() const;  // e.g. "jpeg q75", "brightness +0.10", "contrast x0.80"
};

// JPEG round trip of one CHW 8-bit RGB image of h×w pixels. Error on a quality outside 1..100 or a
// libjpeg failure (with its message).
std::vector<uint8_t> jpeg_roundtrip(const uint8_t* chw, int h, int w, int quality);

// A copy of d with every image transformed. Error for a non-finite amount, a JPEG quality outside 1..100,
// a contrast factor below 0 or a brightness shift outside [−1, 1].
Dataset degrade(const Dataset& d, const DegradeSpec& spec);

}  // namespace tinyptq
