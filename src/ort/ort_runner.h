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
