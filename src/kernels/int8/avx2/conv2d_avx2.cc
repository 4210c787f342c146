// AVX2 Conv2D run: the shared ymm tiles (conv2d_ymm_tiles.h) with vpmaddwd products. The broadcast quad
// [x0 x1 x2 x3] becomes two vectors of int16 pairs per lane, (x0, x2) by masking the odd bytes and
// (x1, x3) by shifting words right by 8; vpmaddwd meets each with the matching int16 weight pairs and
// gives x0·w0 + x2·w2 and x1·w1 + x3·w3 per channel, exact in int32 (|x·w| ≤ 255·128), summed into acc.
#include "kernels/int8/avx2/conv2d_avx2.h"

#include "kernels/int8/avx2/conv2d_ymm_tiles.h"

namespace tinyptq::int8::avx2 {

namespace {

struct MaddDot {
  static constexpr int64_t kQuadBytes = 2 * avx512vnni::kBlock * 2 * sizeof(int16_t);  // 128
  using Weights = const int8_t*;  // read by vpmaddwd from memory (too many to keep in registers)
  struct Input {
    __m256i even, odd;  // words (x0, x2), (x1, x3) in every 32-bit lane
  };

  static Weights load(const int8_t* w) { return w; }
  static Input expand(int32_t quad) {
    const __m256i b = _mm256_set1_epi32(quad);
    return {_mm256_and_si256(b, _mm256_set1_epi32(0x00FF00FF)), _mm256_srli_epi16(b, 8)};
  }
  static __m256i madd(__m256i x, const int8_t* w) {
    return _mm256_madd_epi16(x, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w)));
  }
  static void accumulate(__m256i& acc_lo, __m256i& acc_hi, const Input& x, Weights w) {
    acc_lo = _mm256_add_epi32(acc_lo, _mm256_add_epi32(madd(x.even, w), madd(x.odd, w + 64)));
    acc_hi = _mm256_add_epi32(acc_hi, _mm256_add_epi32(madd(x.even, w + 32), madd(x.odd, w + 96)));
  }
};

}  // namespace

void conv2d(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows, void* scratch) {
  ymm_conv::conv2d<MaddDot>(p, x, y, images, rows, scratch);
}

}  // namespace tinyptq::int8::avx2
