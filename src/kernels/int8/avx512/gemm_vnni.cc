#include "kernels/int8/avx512/gemm_vnni.h"

#include "kernels/int8/avx512/conv2d_vnni.h"

#include <cstring>

namespace tinyptq::int8::avx512vnni {

namespace {

constexpr int64_t kRowBuffer = 4096;  // bytes of the stack row buffer used when k % 4 ≠ 0

// The 1×1 convolution computing `rows` rows of the Gemm.
ConvParams as_conv(const GemmParams& p, int64_t rows) {
  ConvParams c;
  c.shape.in_h = c.shape.out_h = 1;
  c.shape.in_w = c.shape.out_w = rows;
  c.shape.in_c = p.k;
  c.shape.out_c = p.n;
  c.shape.groups = 1;
  c.shape.window.kernel_h = c.shape.window.kernel_w = 1;
  c.shape.window.stride_h = c.shape.window.stride_w = 1;
  c.shape.window.dilation_h = c.shape.window.dilation_w = 1;
  c.input_zero_point = p.input_zero_point;
  c.output = p.output;
  c.weights = p.weights;
  return c;
}

}  // namespace

bool gemm_supports(const GemmParams& p) { return p.k % kQuad == 0 || p.k + kQuad <= kRowBuffer; }

void gemm_pack(const GemmParams& p, const QuantizedWeights& w, PackedWeights* out) {
  conv2d_pack(as_conv(p, 1), w, out);  // W [n][k] is OIHW with 1×1 kernels; same bias folding as ref
}

size_t gemm_scratch_bytes(const GemmParams&) { return 0; }

void gemm(const GemmParams& p, const uint8_t* a, uint8_t* y, int64_t rows, void* scratch) {
  if (rows <= 0) return;
  // k a multiple of 4: the rows are the conv's source as they are (direct, no scratch). Otherwise each
  // row is padded to c4 channels in a stack buffer (gemm_supports bounds k).
  if (p.k % kQuad == 0) return conv2d(as_conv(p, rows), a, y, 1, {0, 1}, scratch);
  alignas(64) uint8_t buf[kRowBuffer + 64];  // the padded source and its 64-byte header
  std::memset(buf, 0, 64);
  const ConvParams one = as_conv(p, 1);
  for (int64_t r = 0; r < rows; ++r) conv2d(one, a + r * p.k, y + r * p.n, 1, {0, 1}, buf);
}

}  // namespace tinyptq::int8::avx512vnni
