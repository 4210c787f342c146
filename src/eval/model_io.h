// Loading a model from any supported format, and how its input wants the images.
#pragma once
#include <string>

#include "data/preprocess.h"
#include "ir/graph.h"

namespace tinyptq {

// .h5/.hdf5/.keras → Keras import; anything else → ONNX. Every command loads its models here, so every
// command refuses a model whose float parameters are not all finite (check_finite_parameters).
Graph load_model(const std::string& path);

// Throws Error "PATH: initializer 'NAME' contains NaN or Inf" for the first (by name) float initializer
// holding a NaN or ±Inf: such a value would otherwise flow silently into accuracy numbers.
void check_finite_parameters(const Graph& g, const std::string& path);

// NHWC when the graph input is [N, 32, 32, 3]-like (channels last), NCHW when [N, 3, H, W].
// Throws Error for inputs that are not 4-D images with 3 channels.
Layout input_layout(const Graph& g);
// The same, with errors prefixed by the model's file name (for the commands).
Layout input_layout(const Graph& g, const std::string& model_path);

// `--requant auto|float|integer`: the integer engine's requantization arithmetic. "auto" keeps the model's
// own metadata `tinyptq.requant` (float when absent); the others override it in g.metadata. Error on another
// value.
void apply_requant_flag(Graph& g, const std::string& flag);
inline constexpr const char* kRequantFlagHelp =
    "Integer engine arithmetic: auto (the model's tinyptq.requant metadata, else float), float (ONNX Runtime's "
    "float multiplier), integer (TFLite/CMSIS-NN fixed-point, docs/arithmetic.md)";

// Size of the model file on disk in bytes (0 when it cannot be read).
int64_t file_bytes(const std::string& path);

}  // namespace tinyptq
