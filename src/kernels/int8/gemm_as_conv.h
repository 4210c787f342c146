// Gemm on a Conv2D kernel: Y[rows][n] = A[rows][k] × W[n][k]ᵀ is a 1×1 convolution of a 1 × rows image with
// k channels into n channels, so a Gemm shares that kernel's packing, tiles and requantization (and its
// bit-exactness with the reference). Plain C++ (no ISA flags): the instantiations only call the conv's
// functions, so they run wherever that conv runs. The conv must read its source through the padded
// source (avx512/conv2d_vnni.h: padded_rows) or ignore its scratch.
#pragma once
#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8::gemm_as_conv {

inline constexpr int64_t kRowBuffer = 4096;  // bytes of the stack row buffer used when k % 4 ≠ 0

// The 1×1 convolution computing `rows` rows of the Gemm.
ConvParams as_conv(const GemmParams& p, int64_t rows);

bool supports(const GemmParams& p);  // k % 4 == 0, or k ≤ 4092 (one padded row fits the stack buffer)
size_t scratch_bytes(const GemmParams& p);  // 0

// k % 4 == 0: all rows are one direct conv call (no copy). Otherwise one call per row, each row padded
// to 4·ceil(k/4) channels in a stack buffer.
void run_on(ConvRunFn conv, const GemmParams& p, const uint8_t* a, uint8_t* y, int64_t rows);

// W [n][k] is OIHW with 1×1 kernels: the conv's pack, with the same bias folding as ref::gemm_pack.
template <ConvPackFn Pack>
void pack(const GemmParams& p, const QuantizedWeights& w, PackedWeights* out) {
  Pack(as_conv(p, 1), w, out);
}

template <ConvRunFn Conv>
void run(const GemmParams& p, const uint8_t* a, uint8_t* y, int64_t rows, void*) {
  run_on(Conv, p, a, y, rows);
}

}  // namespace tinyptq::int8::gemm_as_conv
