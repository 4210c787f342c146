// tinyptq export-c: a quantized (QDQ) model as a dependency-free C99 library that computes exactly what the
// integer engine computes with integer requantization (c_program.h: what is accepted; c_emitter.h: the
// files). Files appear together or not at all.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "export_c/c_program.h"
#include "ir/graph.h"

namespace tinyptq::export_c {

struct ExportOptions {
  std::string prefix = "model";
  Target target = Target::kCortexM4;
};

struct ExportReport {
  std::vector<std::string> files;   // paths written
  int64_t constant_bytes = 0;       // flash for weights, biases, multipliers, tables
  int64_t arena_bytes = 0;          // peak RAM for activations and scratch
  int64_t naive_arena_bytes = 0;    // the same without reuse
  int64_t macs = 0;
  int layers = 0, fused_adds = 0, dsp_layers = 0;
  std::vector<std::string> dropped;  // trailing ops not in the C code
  int64_t input_size = 0, output_size = 0;
};

// Builds, emits and writes into out_dir (created if missing; its parent must exist). Error naming the
// problem; on any error nothing is written.
ExportReport export_c(const Graph& qdq_graph, const ExportOptions& options, const std::string& out_dir);

}  // namespace tinyptq::export_c
