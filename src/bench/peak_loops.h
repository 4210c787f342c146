// Calibration loops for the CPU's multiply-accumulate peak: `iterations` rounds of 16 independent
// accumulators held in registers (enough to cover the latency of the instruction on current cores), one instruction per
// accumulator per round. Each returns a value derived from the accumulators so the loop is not removed.
// Call the AVX-512 ones only when cpu_runs_avx512_files(), the AVX2 ones when cpu_runs_avx2_files().
#pragma once
#include <cstdint>

namespace tinyptq::bench {

inline constexpr int kPeakChains = 16;

// vpdpbusd zmm: 64 uint8 × int8 multiply-accumulates per instruction.
int32_t peak_loop_vnni512(int64_t iterations);
// vfmadd231ps zmm: 16 FP32 multiply-accumulates per instruction.
float peak_loop_fma512(int64_t iterations);
// vpmaddwd ymm (the AVX2 int8 kernels' exact product): 16 int16 multiply-accumulates per instruction.
int32_t peak_loop_maddwd256(int64_t iterations);
// vfmadd231ps ymm: 8 FP32 multiply-accumulates per instruction.
float peak_loop_fma256(int64_t iterations);

}  // namespace tinyptq::bench
