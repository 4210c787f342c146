#include "core/cpu_features.h"

namespace tinyptq {

bool cpu_runs_avx2_files() {
  static const bool has =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  return has;
}

bool cpu_runs_avxvnni_files() {
  static const bool has =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("avxvnni");
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
