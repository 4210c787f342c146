#include "kernels/fp32/kernel_table.h"

#include <cstring>
#include <string>

#include "core/cpu_features.h"
#include "core/error.h"
#include "kernels/fp32/avx2/kernels_avx2.h"
#include "kernels/fp32/avx512/kernels_avx512.h"
#include "kernels/fp32/portable/conv_plan.h"
#include "kernels/fp32/portable/kernels_portable.h"

namespace tinyptq::fp32 {

namespace {

bool cpu_has_avx512() { return cpu_runs_avx512_files(); }
bool cpu_has_avx2() { return cpu_runs_avx2_files(); }

const KernelTable& avx2_kernels() {
  static const KernelTable table = [] {
    KernelTable t;
    t.isa = "avx2";
    t.conv = {"conv2d_nchw_implicit_6x16_avx2", avx2::kConvMr, avx2::kConvNv, avx2::conv_run,
              avx2::phase_planes, true};
    t.gemm = {"gemm_dot16_avx2", avx2::gemm_run};
    t.clamp = {"clamp_avx2", avx2::clamp};
    t.add_clamp = {"add_clamp_avx2", avx2::add_clamp};
    t.plane_mean = {"plane_mean_avx2", avx2::plane_mean};
    t.transpose2d = {"transpose2d_avx2", avx2::transpose2d};
    return t;
  }();
  return table;
}

const KernelTable& avx512_kernels() {
  static const KernelTable table = [] {
    KernelTable t;
    t.isa = "avx512";
    t.conv = {"conv2d_nchw_implicit_8x32_avx512", avx512::kConvMr, avx512::kConvNv, avx512::conv_run,
              avx512::phase_planes, true};
    t.gemm = {"gemm_dot16_avx512", avx512::gemm_run};
    t.clamp = {"clamp_avx512", avx512::clamp};
    t.add_clamp = {"add_clamp_avx512", avx512::add_clamp};
    t.plane_mean = {"plane_mean_avx512", avx512::plane_mean};
    t.transpose2d = {"transpose2d_avx512", avx512::transpose2d};
    return t;
  }();
  return table;
}

}  // namespace

const KernelTable& reference_kernels() {
  static const KernelTable table = [] {
    KernelTable t;
    t.isa = "reference";
    t.conv = {"conv2d_nchw_ref", 0, 0, conv_run_reference};
    t.gemm = {"gemm_dot16_portable", portable::gemm_run};
    t.clamp = {"clamp_portable", portable::clamp};
    t.add_clamp = {"add_clamp_portable", portable::add_clamp};
    t.plane_mean = {"plane_mean_portable", portable::plane_mean};
    t.transpose2d = {"transpose2d_portable", portable::transpose2d};
    return t;
  }();
  return table;
}

const KernelTable& best_kernels() {
  static const KernelTable* best = cpu_has_avx512() ? &avx512_kernels()
                                   : cpu_has_avx2() ? &avx2_kernels()
                                                    : &reference_kernels();
  return *best;
}

std::vector<const KernelTable*> available_kernels() {
  std::vector<const KernelTable*> out = {&reference_kernels()};
  if (cpu_has_avx2()) out.push_back(&avx2_kernels());
  if (cpu_has_avx512()) out.push_back(&avx512_kernels());
  return out;
}

const KernelTable& kernels_by_name(const char* isa) {
  const std::string name = isa ? isa : "";
  if (name == "best") return best_kernels();
  for (const KernelTable* t : available_kernels())
    if (name == t->isa) return *t;
  check(name == "reference" || name == "avx2" || name == "avx512",
        "unknown FP32 kernel set '" + name + "' (reference, avx2, avx512 or best)");
  throw Error("FP32 kernel set '" + name + "' needs CPU features this machine lacks");
}

}  // namespace tinyptq::fp32
