// Weight packing for the VNNI Conv2D; plain C++ (no ISA flags), so any CPU may run it.
#include "kernels/int8/avx512/conv2d_vnni.h"

#include <utility>

#include "kernels/int8/reference/conv2d.h"

namespace tinyptq::int8::avx512vnni {

bool conv2d_supports(const ConvShape& s) { return s.groups == 1; }

void conv2d_pack(const ConvParams& p, const QuantizedWeights& w, PackedWeights* out) {
  ref::conv2d_pack(p, w, out);  // folds the bias; data is OHWI [out_c][kh·kw][in_c]
  const ConvShape& s = p.shape;
  if (s.groups != 1) return;  // unsupported shapes keep the reference layout; run defers to ref::conv2d
  const int64_t taps = s.window.kernel_h * s.window.kernel_w, in_c = s.in_c;
  const int64_t quads = (in_c + kQuad - 1) / kQuad, blocks = (s.out_c + kBlock - 1) / kBlock;
  std::vector<int8_t> packed(size_t(blocks * taps * quads * kBlock * kQuad), 0);
  for (int64_t oc = 0; oc < s.out_c; ++oc)
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t ic = 0; ic < in_c; ++ic)
        packed[size_t((((oc / kBlock) * taps + t) * quads + ic / kQuad) * kBlock * kQuad +
                      (oc % kBlock) * kQuad + ic % kQuad)] = out->data[size_t((oc * taps + t) * in_c + ic)];
  out->data = std::move(packed);
}

size_t conv2d_scratch_bytes(const ConvParams&) { return 0; }

}  // namespace tinyptq::int8::avx512vnni
