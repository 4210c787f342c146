// ONNX Runtime as an oracle: runs a model file in ONNX Runtime (CPU) through tools/ort/run_ort.js under node.
// The tools directory is $TINYPTQ_ORT_DIR, else TINYPTQ_SOURCE_DIR/tools/ort (TINYPTQ_SOURCE_DIR: the source
// tree the library was built from); scripts/install_ort.sh installs onnxruntime-node into it.
#pragma once
#include <string>

#include "core/tensor.h"

namespace tinyptq {

// The directory holding run_ort.js (see above).
std::string ort_dir();

// Empty when node and onnxruntime-node are usable; otherwise what is missing and how to install it.
std::string ort_unavailable_reason();
bool ort_available();

// Runs the model on a float input (its batch dimension first, any N) and returns the model's first output
// (float32). Throws Error carrying the script's message on any failure (ONNX Runtime missing, model
// rejected, shape mismatch, ...).
Tensor run_ort(const std::string& model_path, const Tensor& input, int threads = 1);

}  // namespace tinyptq

namespace tinyptq {

// ONNX Runtime's own timing of a model (run_ort.js --bench): a fixed pseudo-random input of
// `image_shape` with its first dim replaced by `batch`, run back to back for `seconds` after a warm-up.
struct OrtBenchResult {
  double images_per_second = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0;  // latency of one run (one batch)
  int64_t runs = 0;
};
// Throws Error carrying the runner's message on any failure.
OrtBenchResult run_ort_bench(const std::string& model_path, const Shape& image_shape, int64_t batch,
                             int threads, double seconds);

}  // namespace tinyptq
