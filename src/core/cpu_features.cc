#include "core/cpu_features.h"

#include <cpuid.h>

namespace tinyptq {

namespace {

// Bit `bit` of register `reg` (0 eax, 1 ebx, 2 ecx, 3 edx) of CPUID leaf/subleaf. F16C and AVX-VNNI are
// read here because not every compiler's __builtin_cpu_supports knows them (clang 14 does not); both use
// the ymm state that the avx2 check already requires the OS to save.
bool cpuid_bit(unsigned leaf, unsigned subleaf, int reg, unsigned bit) {
  unsigned r[4] = {0, 0, 0, 0};
  if (!__get_cpuid_count(leaf, subleaf, &r[0], &r[1], &r[2], &r[3])) return false;
  return (r[reg] >> bit) & 1u;
}

bool has_f16c() { return cpuid_bit(1, 0, 2, 29); }     // CPUID.1:ECX.F16C[29]
bool has_avxvnni() { return cpuid_bit(7, 1, 0, 4); }  // CPUID.(7,1):EAX.AVX-VNNI[4]

}  // namespace

bool cpu_runs_avx2_files() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
  return has;
}

bool cpu_runs_avxvnni_files() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_avxvnni();
  return has;
}

bool cpu_runs_avx512_files() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("fma") &&
                          __builtin_cpu_supports("avx2");
  return has;
}

}  // namespace tinyptq
