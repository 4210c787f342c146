// Keras 2.x HDF5 (model.save(..., save_format="h5")) → IR graph.
// The model's input stays as Keras gives it — NHWC float [-1, H, W, C], named after the InputLayer — and is
// immediately transposed to NCHW; every node after runs NCHW. Outputs are named after the model's output
// layers and have Keras' layout (NHWC again for image outputs). Conv kernels are converted HWIO → OIHW,
// Dense kernels [in, out] → [out, in] (Gemm transB = 1), 'same' padding becomes explicit TF pads, and
// BatchNormalization stays a node (folding is a separate pass).
#pragma once
#include <cstdint>
#include <string>

#include "ir/graph.h"

namespace tinyptq {

struct KerasImportResult {
  Graph graph;
  int64_t keras_layers = 0;   // layers in model_config (InputLayer included)
  std::string keras_version;  // root attribute keras_version, "" if absent
};

// Throws Error naming the file and, where relevant, the layer: not an HDF5 file, truncated/damaged file, no
// model_config, unsupported layers (all of them listed), bad configs, missing weights or weights whose
// shape disagrees with the config.
KerasImportResult import_keras_model(const std::string& path);

// import_keras_model(path).graph.
Graph import_keras_h5(const std::string& path);

}  // namespace tinyptq
