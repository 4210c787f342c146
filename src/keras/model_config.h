// The structure of a Keras 2.x model from its `model_config` JSON: layers in file order, each with its
// class, name, raw config object and inbound tensors; plus the model's input and output tensors.
// Functional models ("Functional"/"Model") use Keras 2.x inbound_nodes:
//   [[["producer", node_index, tensor_index, {kwargs}], ...]]   (one list per call of the layer)
// Sequential models are turned into the same form: a chain, with an InputLayer first (synthesized from
// the first layer's batch_input_shape as "<first>_input" when the config has none).
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace tinyptq {

// Output `tensor_index` of call `node_index` of layer `layer`.
struct KerasTensorRef {
  std::string layer;
  int64_t node_index = 0;
  int64_t tensor_index = 0;
};

struct KerasLayer {
  std::string class_name;
  std::string name;
  nlohmann::json config;                // the layer's "config" object
  std::vector<KerasTensorRef> inbound;  // inputs of its (single) call; empty for InputLayer
};

struct KerasModel {
  std::string name;
  std::vector<KerasLayer> layers;
  std::vector<KerasTensorRef> inputs;
  std::vector<KerasTensorRef> outputs;
};

// "Keras layer 'conv2d' (Conv2D)", the prefix of every per-layer error message.
std::string layer_label(const KerasLayer& layer);

// Parses model_config. `label` (the file) prefixes errors. Throws Error for malformed JSON, missing fields,
// duplicate layer names, layers called more than once (shared layers), references to unknown layers.
KerasModel parse_keras_model_config(const std::string& json_text, const std::string& label);

}  // namespace tinyptq
