// The CPU's multiply-accumulate peak for one thread, measured with a calibrated loop (bench/peak_loops.h)
// of the widest MAC instruction the engines use on this CPU:
//   int8: vpdpbusd zmm (AVX-512 VNNI, 64 MAC/instruction), else vpmaddwd ymm (AVX2, 16 MAC/instruction);
//   FP32: vfmadd231ps zmm (AVX-512F, 16 MAC/instruction), else vfmadd231ps ymm (AVX2+FMA, 8).
// peak(T threads) = T · MAC/instruction · instructions/cycle · f; the loop measures the product of the last
// two directly (turbo clocks included), as the best of 200 wall-clock runs of ~0.1 ms (on a shared machine
// some of them run undisturbed); instructions/cycle is reported at the nominal clock of
// /proc/cpuinfo. Assumes T ≤ physical cores. The engines' images/s are wall-clock: on a busy machine
// the fraction of peak is understated.
#pragma once
#include <string>

namespace tinyptq::bench {

struct MacPeak {
  std::string instruction;          // e.g. "vpdpbusd zmm"
  int macs_per_instruction = 0;
  double macs_per_second = 0;       // one thread, measured
  double instructions_per_cycle = 0;  // at cpu_mhz (0 when unknown)
};

struct PeakInfo {
  MacPeak int8, fp32;
  double cpu_mhz = 0;  // "cpu MHz" of /proc/cpuinfo, 0 when unavailable
};

// Takes about 50 ms.
PeakInfo measure_peak();

}  // namespace tinyptq::bench
