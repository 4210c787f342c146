// Run-time CPU checks, one per family of ISA-specific source files. CMake compiles every file named
// *_avx2.cc with AVX2 + FMA + F16C, *_avxvnni.cc with AVX2 + FMA + AVX-VNNI, and *_avx512.cc with
// AVX-512 F/BW/VL/DQ/VNNI + FMA + AVX2; the compiler may emit any of those instructions anywhere in such
// a file. So a dispatch table calls into a file only when the predicate of its whole flag set holds.
#pragma once

namespace tinyptq {

bool cpu_runs_avx2_files();     // avx2, fma, f16c
bool cpu_runs_avxvnni_files();  // avx2, fma, avxvnni
bool cpu_runs_avx512_files();   // avx512 f/bw/vl/dq/vnni, fma, avx2

}  // namespace tinyptq
