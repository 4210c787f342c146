#include "data/image_resize.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace tinyptq {
namespace {

// Source taps and weight of every output position along one axis (see the header's formula).
struct Taps {
  std::vector<int> lo, hi;
  std::vector<float> frac;
};

Taps axis_taps(int in, int out) {
  Taps t;
  t.lo.resize(size_t(out)), t.hi.resize(size_t(out)), t.frac.resize(size_t(out));
  for (int x = 0; x < out; ++x) {
    const double s = std::clamp((x + 0.5) * double(in) / double(out) - 0.5, 0.0, double(in - 1));
    const int x0 = int(std::floor(s));
    t.lo[size_t(x)] = x0;
    t.hi[size_t(x)] = std::min(x0 + 1, in - 1);
    t.frac[size_t(x)] = float(s - x0);
  }
  return t;
}

}  // namespace

std::vector<float> resize_bilinear(const RgbImage& img, int out_h, int out_w) {
  check(out_h > 0 && out_w > 0, "resize to " + std::to_string(out_h) + "x" + std::to_string(out_w) + " pixels");
  check(img.height > 0 && img.width > 0, "resize of an empty image");
  const Taps ty = axis_taps(img.height, out_h), tx = axis_taps(img.width, out_w);
  const size_t in_row = size_t(img.width) * 3;
  std::vector<float> out(size_t(out_h) * size_t(out_w) * 3);
  for (int y = 0; y < out_h; ++y) {
    const uint8_t* r0 = img.rgb.data() + size_t(ty.lo[size_t(y)]) * in_row;
    const uint8_t* r1 = img.rgb.data() + size_t(ty.hi[size_t(y)]) * in_row;
    const float fy = ty.frac[size_t(y)];
    for (int x = 0; x < out_w; ++x) {
      const size_t a = size_t(tx.lo[size_t(x)]) * 3, b = size_t(tx.hi[size_t(x)]) * 3;
      const float fx = tx.frac[size_t(x)];
      float* o = out.data() + (size_t(y) * size_t(out_w) + size_t(x)) * 3;
      for (size_t c = 0; c < 3; ++c) {
        const float top = (1 - fx) * float(r0[a + c]) + fx * float(r0[b + c]);
        const float bottom = (1 - fx) * float(r1[a + c]) + fx * float(r1[b + c]);
        // (1 − f)·v + f·v can round one ulp above v: clamp to the 8-bit range the taps span.
        o[c] = std::clamp((1 - fy) * top + fy * bottom, 0.0f, 255.0f);
      }
    }
  }
  return out;
}

}  // namespace tinyptq
