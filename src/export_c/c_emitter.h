// Writes a CProgram as C99 source: PREFIX.h (the API and sizes), PREFIX.c (layer params and the run
// function), PREFIX_weights.c (const arrays), PREFIX_kernels.h/.c (the runtime, symbols renamed to PREFIX).
// Activations are int8 in C: a uint8 code u of the engine is u − 128 with its zero point shifted alike,
// which keeps every difference q − z and so every accumulator.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "export_c/c_program.h"

namespace tinyptq::export_c {

struct CSources {
  std::vector<std::pair<std::string, std::string>> files;  // file name → content, in writing order
  int64_t constant_bytes = 0;  // bytes of every const array (weights, biases, multipliers, tables)
};

// prefix: a C identifier (checked). Deterministic: the same program gives the same bytes.
CSources emit_c(const CProgram& program, const std::string& prefix, Target target);

// Error unless s is a C identifier of at most 32 characters that is not a C keyword.
void check_prefix(const std::string& s);

}  // namespace tinyptq::export_c
