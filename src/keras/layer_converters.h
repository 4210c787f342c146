// Per-layer converters: a table from Keras class_name to a function that appends the layer's IR nodes
// (NCHW) and returns its output. Every converter validates the input count/rank and the weight shapes
// against the config, and throws Error naming the layer otherwise.
#pragma once
#include <string>
#include <vector>

#include "keras/convert_context.h"
#include "keras/model_config.h"

namespace tinyptq {

// Converts one layer given its converted inputs (in inbound order). The returned value is named after the
// layer, or is an input unchanged for layers that are identities at inference (Dropout, linear Activation).
using LayerConverter = KerasValue (*)(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                                      ConvertContext& ctx);

// The converter for a Keras class, or nullptr if the class is not supported.
LayerConverter find_layer_converter(const std::string& class_name);
// "Activation, Add, ..." for error messages.
std::string supported_layer_classes();

// Converters defined in conv_converters.cc (Conv2D, DepthwiseConv2D, pooling).
KerasValue convert_conv2d(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                          ConvertContext& ctx);
KerasValue convert_depthwise_conv2d(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                                    ConvertContext& ctx);
KerasValue convert_average_pooling2d(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                                     ConvertContext& ctx);
KerasValue convert_max_pooling2d(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                                 ConvertContext& ctx);
KerasValue convert_global_average_pooling2d(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                                            ConvertContext& ctx);

// Checks that a layer has exactly `count` inputs, each of rank `rank` (0 = any rank).
void expect_inputs(const KerasLayer& layer, const std::vector<KerasValue>& inputs, size_t count, size_t rank);

}  // namespace tinyptq
