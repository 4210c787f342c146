// Typed views of the Keras layer configs the importer supports. Each parser validates its fields (type,
// range) and throws Error naming the layer for anything malformed or unsupported (channels_first,
// unknown activations, leaky ReLU, ...).
#pragma once
#include <array>
#include <optional>
#include <vector>

#include "core/tensor.h"
#include "keras/model_config.h"

namespace tinyptq {

enum class KerasPadding { kValid, kSame };
// Activations with an IR equivalent: Relu, Clip(0, 6), Softmax over the channel/feature axis.
enum class KerasActivation { kLinear, kRelu, kRelu6, kSoftmax, kSigmoid, kHardSigmoid, kHardSwish };

using Pair = std::array<int64_t, 2>;  // (height, width)

struct InputLayerConfig {
  Shape shape;  // Keras layout with the batch as -1: [-1, H, W, C] or [-1, F]
};

struct Conv2DConfig {
  int64_t filters = 0;
  Pair kernel{1, 1}, strides{1, 1}, dilation{1, 1};
  KerasPadding padding = KerasPadding::kValid;
  int64_t groups = 1;
  KerasActivation activation = KerasActivation::kLinear;
  bool use_bias = true;
};

struct DepthwiseConv2DConfig {
  Pair kernel{1, 1}, strides{1, 1}, dilation{1, 1};
  KerasPadding padding = KerasPadding::kValid;
  int64_t depth_multiplier = 1;
  KerasActivation activation = KerasActivation::kLinear;
  bool use_bias = true;
};

struct BatchNormConfig {
  int64_t axis = -1;  // as in Keras (channels-last numbering, may be negative)
  float epsilon = 1e-3f;
  bool center = true, scale = true;
};

struct ActivationConfig {
  KerasActivation activation = KerasActivation::kLinear;
};

// The ReLU layer: min(max(x, 0), max_value).
struct ReluConfig {
  std::optional<float> max_value;
};

struct Pool2DConfig {
  Pair pool{2, 2}, strides{2, 2};
  KerasPadding padding = KerasPadding::kValid;
};

struct GlobalPool2DConfig {
  bool keepdims = false;
};

struct ReshapeConfig {
  std::vector<int64_t> target_shape;  // without the batch; at most one -1
};

struct DenseConfig {
  int64_t units = 0;
  KerasActivation activation = KerasActivation::kLinear;
  bool use_bias = true;
};

// ZeroPadding2D: rows added (top, bottom) and columns (left, right).
struct ZeroPadding2DConfig {
  Pair rows{1, 1}, cols{1, 1};
};

struct ConcatenateConfig {
  int64_t axis = -1;  // as in Keras (channels-last numbering, may be negative)
};

InputLayerConfig parse_input_layer_config(const KerasLayer& layer);
Conv2DConfig parse_conv2d_config(const KerasLayer& layer);
DepthwiseConv2DConfig parse_depthwise_conv2d_config(const KerasLayer& layer);
BatchNormConfig parse_batch_norm_config(const KerasLayer& layer);
ActivationConfig parse_activation_config(const KerasLayer& layer);
ReluConfig parse_relu_config(const KerasLayer& layer);
Pool2DConfig parse_pool2d_config(const KerasLayer& layer);
GlobalPool2DConfig parse_global_pool2d_config(const KerasLayer& layer);
ReshapeConfig parse_reshape_config(const KerasLayer& layer);
DenseConfig parse_dense_config(const KerasLayer& layer);
ZeroPadding2DConfig parse_zero_padding2d_config(const KerasLayer& layer);
ConcatenateConfig parse_concatenate_config(const KerasLayer& layer);
// Throws unless the layer's data_format is absent or channels_last.
void check_channels_last(const KerasLayer& layer);

}  // namespace tinyptq
