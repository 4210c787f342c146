// Weight packing for the AVX2 Conv2D (layout in conv2d_avx2.h); plain C++ (no ISA flags).
#include <cstring>
#include <utility>

#include "kernels/int8/avx2/conv2d_avx2.h"
#include "kernels/int8/reference/conv2d.h"

namespace tinyptq::int8::avx2 {

void conv2d_pack(const ConvParams& p, const QuantizedWeights& w, PackedWeights* out) {
  ref::conv2d_pack(p, w, out);  // folds the bias; data is OHWI [out_c][kh·kw][in_c]
  const ConvShape& s = p.shape;
  if (s.groups != 1) return;  // unsupported shapes keep the reference layout; run defers to ref::conv2d
  constexpr int64_t kBlock = 16, kQuad = 4, kLine = 2 * kBlock * 2;  // int16 per (block, tap, quad)
  const int64_t taps = s.window.kernel_h * s.window.kernel_w, in_c = s.in_c;
  const int64_t quads = (in_c + kQuad - 1) / kQuad, blocks = (s.out_c + kBlock - 1) / kBlock;
  std::vector<int16_t> packed(size_t(blocks * taps * quads * kLine), 0);
  for (int64_t oc = 0; oc < s.out_c; ++oc)
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t ic = 0; ic < in_c; ++ic) {
        const int64_t r = ic % kQuad;  // half r % 2 holds inputs (r = 0, 2) or (1, 3); slot r / 2
        packed[size_t((((oc / kBlock) * taps + t) * quads + ic / kQuad) * kLine + (r % 2) * 2 * kBlock +
                      (oc % kBlock) * 2 + r / 2)] = out->data[size_t((oc * taps + t) * in_c + ic)];
      }
  out->data.resize(packed.size() * sizeof(int16_t));
  std::memcpy(out->data.data(), packed.data(), out->data.size());
}

}  // namespace tinyptq::int8::avx2
