// AVX-VNNI Conv2D run: the shared ymm tiles (avx2/conv2d_ymm_tiles.h) with vpdpbusd products. A packed
// line (16 output channels × 4 input bytes, 64 bytes) is two ymm of 8 channels; one vpdpbusd adds the 4
// exact u8·s8 products of each channel to its int32 lane (no int16 intermediate, no saturation).
#include "kernels/int8/avxvnni/conv2d_avxvnni.h"

#include "kernels/int8/avx2/conv2d_ymm_tiles.h"

namespace tinyptq::int8::avxvnni {

namespace {

struct VnniDot {
  static constexpr int64_t kQuadBytes = avx512vnni::kBlock * avx512vnni::kQuad;  // [16 channels][4 bytes]
  struct Weights {
    __m256i lo, hi;  // channels 0–7, 8–15
  };
  using Input = __m256i;  // the quad x̃[4q..4q+3] in every lane

  static Weights load(const int8_t* w) {
    return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w)),
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32))};
  }
  static Input expand(int32_t quad) { return _mm256_set1_epi32(quad); }
  static void accumulate(__m256i& acc_lo, __m256i& acc_hi, Input x, const Weights& w) {
    acc_lo = _mm256_dpbusd_avx_epi32(acc_lo, x, w.lo);
    acc_hi = _mm256_dpbusd_avx_epi32(acc_hi, x, w.hi);
  }
};

}  // namespace

void conv2d(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows, void* scratch) {
  ymm_conv::conv2d<VnniDot>(p, x, y, images, rows, scratch);
}

}  // namespace tinyptq::int8::avxvnni
