#include "kernels/int8/gemm_as_conv.h"

#include <cstring>

namespace tinyptq::int8::gemm_as_conv {

namespace {
constexpr int64_t kQuad = 4;  // channels per vpdpbusd / vpmaddwd lane group
}

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

bool supports(const GemmParams& p) { return p.k % kQuad == 0 || p.k + kQuad <= kRowBuffer; }

size_t scratch_bytes(const GemmParams&) { return 0; }

void run_on(ConvRunFn conv, const GemmParams& p, const uint8_t* a, uint8_t* y, int64_t rows) {
  if (rows <= 0) return;
  if (p.k % kQuad == 0) return conv(as_conv(p, rows), a, y, 1, {0, 1}, nullptr);
  alignas(64) uint8_t buf[kRowBuffer + 64];  // one padded row and the padded source's 64-byte header
  std::memset(buf, 0, 64);
  const ConvParams one = as_conv(p, 1);
  for (int64_t r = 0; r < rows; ++r) conv(one, a + r * p.k, y + r * p.n, 1, {0, 1}, buf);
}

}  // namespace tinyptq::int8::gemm_as_conv
