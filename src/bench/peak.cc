#include "bench/peak.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>

#include "bench/peak_loops.h"
#include "core/cpu_features.h"

namespace tinyptq::bench {

namespace {

double read_cpu_mhz() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("cpu MHz", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    try {
      return std::stod(line.substr(colon + 1));
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Best of many short timed runs of `loop` (on a shared machine some runs are not preempted) (iterations rounds of kPeakChains instructions), in instructions/s.
template <typename Loop>
double instructions_per_second(Loop loop) {
  constexpr int64_t kIterations = int64_t(1) << 14;  // ~0.1 ms per timed run: short enough that the best
                                                    // of many is unlikely to be preempted
  volatile double sink = 0;
  sink = sink + double(loop(kIterations / 8));  // warm-up (clocks, license)
  double best = 1e30;
  for (int r = 0; r < 200; ++r) {
    const double t0 = now_seconds();
    sink = sink + double(loop(kIterations));
    best = std::min(best, now_seconds() - t0);
  }
  return double(kIterations * kPeakChains) / best;
}

MacPeak make_peak(const char* instruction, int macs, double ips, double mhz) {
  MacPeak p;
  p.instruction = instruction;
  p.macs_per_instruction = macs;
  p.macs_per_second = ips * macs;
  p.instructions_per_cycle = mhz > 0 ? ips / (mhz * 1e6) : 0;
  return p;
}

}  // namespace

PeakInfo measure_peak() {
  PeakInfo info;
  info.cpu_mhz = read_cpu_mhz();
  const bool avx512 = cpu_runs_avx512_files();  // peak_loops_avx512.cc (VNNI included)
  const bool avx2 = cpu_runs_avx2_files();
  if (avx512)
    info.int8 = make_peak("vpdpbusd zmm", 64, instructions_per_second(peak_loop_vnni512), info.cpu_mhz);
  else if (avx2)
    info.int8 = make_peak("vpmaddwd ymm", 16, instructions_per_second(peak_loop_maddwd256), info.cpu_mhz);
  if (avx512)
    info.fp32 = make_peak("vfmadd231ps zmm", 16, instructions_per_second(peak_loop_fma512), info.cpu_mhz);
  else if (avx2)
    info.fp32 = make_peak("vfmadd231ps ymm", 8, instructions_per_second(peak_loop_fma256), info.cpu_mhz);
  return info;
}

}  // namespace tinyptq::bench
