#include "keras/model_config.h"

#include <cmath>
#include <set>

#include "core/error.h"

namespace tinyptq {

using nlohmann::json;

std::string layer_label(const KerasLayer& layer) {
  return "Keras layer '" + layer.name + "' (" + layer.class_name + ")";
}

namespace {

bool as_index(const json& v, int64_t& out) {
  if (v.is_number_integer()) {
    out = v.get<int64_t>();
    return out >= 0;
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (!(d >= 0 && d < 1e9 && std::floor(d) == d)) return false;
    out = int64_t(d);
    return true;
  }
  return false;
}

// ["layer", node_index, tensor_index] or ["layer", node_index, tensor_index, {kwargs}].
KerasTensorRef parse_ref(const json& v, const std::string& what) {
  KerasTensorRef ref;
  check(v.is_array() && v.size() >= 3 && v.size() <= 4 && v[0].is_string() &&
            as_index(v[1], ref.node_index) && as_index(v[2], ref.tensor_index),
        what + ": expected [\"layer\", node_index, tensor_index], got " + v.dump().substr(0, 200));
  ref.layer = v[0].get<std::string>();
  return ref;
}

// input_layers / output_layers: a list of refs, or one bare ref.
std::vector<KerasTensorRef> parse_ref_list(const json& config, const char* key, const std::string& label) {
  const std::string what = label + ": model_config '" + key + "'";
  check(config.contains(key), what + " is missing");
  const json& v = config[key];
  check(v.is_array() && !v.empty(), what + " must be a non-empty list");
  if (v[0].is_string()) return {parse_ref(v, what)};
  std::vector<KerasTensorRef> refs;
  for (const json& r : v) refs.push_back(parse_ref(r, what));
  return refs;
}

// The common fields of a layer entry; the name is the entry's "name", else config.name.
KerasLayer parse_layer_entry(const json& entry, size_t index, const std::string& label) {
  const std::string what = label + ": model_config layer #" + std::to_string(index);
  check(entry.is_object(), what + " is not an object");
  check(entry.contains("class_name") && entry["class_name"].is_string(), what + " has no class_name");
  check(entry.contains("config") && entry["config"].is_object(), what + " has no config object");
  KerasLayer layer;
  layer.class_name = entry["class_name"].get<std::string>();
  layer.config = entry["config"];
  if (entry.contains("name") && entry["name"].is_string())
    layer.name = entry["name"].get<std::string>();
  else if (layer.config.contains("name") && layer.config["name"].is_string())
    layer.name = layer.config["name"].get<std::string>();
  check(!layer.name.empty(), what + " (" + layer.class_name + ") has no name");
  return layer;
}

KerasModel parse_functional(const json& config, const std::string& label) {
  KerasModel model;
  check(config.is_object(), label + ": model_config 'config' is not an object");
  if (config.contains("name") && config["name"].is_string()) model.name = config["name"].get<std::string>();
  check(config.contains("layers") && config["layers"].is_array(), label + ": model_config has no layer list");
  for (const json& entry : config["layers"]) {
    KerasLayer layer = parse_layer_entry(entry, model.layers.size(), label);
    const std::string what = label + ": " + layer_label(layer);
    check(entry.contains("inbound_nodes") && entry["inbound_nodes"].is_array(),
          what + " has no inbound_nodes");
    const json& calls = entry["inbound_nodes"];
    check(calls.size() <= 1,
          what + " is called " + std::to_string(calls.size()) + " times; shared layers are not supported");
    if (calls.size() == 1) {
      check(calls[0].is_array(), what +
                                     ": unsupported inbound_nodes format (expected the Keras 2.x "
                                     "[[\"layer\", node, tensor, {}], ...] lists)");
      for (const json& r : calls[0]) layer.inbound.push_back(parse_ref(r, what + " inbound_nodes"));
    }
    model.layers.push_back(std::move(layer));
  }
  model.inputs = parse_ref_list(config, "input_layers", label);
  model.outputs = parse_ref_list(config, "output_layers", label);
  return model;
}

KerasModel parse_sequential(const json& config, const std::string& label) {
  KerasModel model;
  const json* layers = &config;  // Keras ≤ 2.2 stores the bare layer list
  if (config.is_object()) {
    if (config.contains("name") && config["name"].is_string()) model.name = config["name"].get<std::string>();
    check(config.contains("layers") && config["layers"].is_array(),
          label + ": model_config has no layer list");
    layers = &config["layers"];
  }
  check(layers->is_array() && !layers->empty(), label + ": Sequential model_config has no layers");
  for (const json& entry : *layers)
    model.layers.push_back(parse_layer_entry(entry, model.layers.size(), label));

  if (model.layers.front().class_name != "InputLayer") {
    const KerasLayer& first = model.layers.front();
    check(first.config.contains("batch_input_shape"), label + ": Sequential model has no InputLayer and " +
                                                          layer_label(first) + " has no batch_input_shape");
    KerasLayer input;
    input.class_name = "InputLayer";
    input.name = first.name + "_input";
    input.config = json{{"name", input.name},
                        {"batch_input_shape", first.config["batch_input_shape"]},
                        {"dtype", first.config.value("dtype", json("float32"))}};
    model.layers.insert(model.layers.begin(), std::move(input));
  }
  for (size_t k = 1; k < model.layers.size(); ++k)
    model.layers[k].inbound = {{model.layers[k - 1].name, 0, 0}};
  model.inputs = {{model.layers.front().name, 0, 0}};
  model.outputs = {{model.layers.back().name, 0, 0}};
  return model;
}

// Every reference names an existing layer's first (only) call and first (only) output.
void check_refs(const KerasModel& model, const std::string& label) {
  std::set<std::string> names;
  for (const auto& layer : model.layers)
    check(names.insert(layer.name).second, label + ": two layers are named '" + layer.name + "'");
  auto check_ref = [&](const KerasTensorRef& ref, const std::string& who) {
    check(names.count(ref.layer), who + " refers to unknown layer '" + ref.layer + "'");
    check(ref.node_index == 0, who + " refers to call #" + std::to_string(ref.node_index) + " of layer '" +
                                   ref.layer + "'; shared layers are not supported");
    check(ref.tensor_index == 0, who + " refers to output #" + std::to_string(ref.tensor_index) +
                                     " of layer '" + ref.layer + "'; multi-output layers are not supported");
  };
  for (const auto& layer : model.layers)
    for (const auto& ref : layer.inbound) check_ref(ref, label + ": " + layer_label(layer));
  for (const auto& ref : model.inputs) check_ref(ref, label + ": model input_layers");
  for (const auto& ref : model.outputs) check_ref(ref, label + ": model output_layers");
}

}  // namespace

KerasModel parse_keras_model_config(const std::string& json_text, const std::string& label) {
  // Nesting is bounded while parsing: copying or printing a deeper value recurses once per level.
  constexpr int kMaxDepth = 64;
  const json::parser_callback_t limit_depth = [&](int depth, json::parse_event_t, json&) {
    if (depth > kMaxDepth)
      throw Error(label + ": model_config nests deeper than " + std::to_string(kMaxDepth) + " levels");
    return true;
  };
  json root = json::parse(json_text, limit_depth, /*allow_exceptions=*/false);
  check(!root.is_discarded(), label + ": model_config is not valid JSON");
  check(root.is_object() && root.contains("class_name") && root["class_name"].is_string() &&
            root.contains("config"),
        label + ": model_config has no class_name/config");
  const std::string cls = root["class_name"].get<std::string>();
  KerasModel model;
  if (cls == "Sequential")
    model = parse_sequential(root["config"], label);
  else if (cls == "Functional" || cls == "Model")
    model = parse_functional(root["config"], label);
  else
    throw Error(label + ": unsupported model class '" + cls + "' (expected Functional, Model or Sequential)");
  // Far above any small CNN; bounds the conversion work a hostile config can ask for.
  constexpr size_t kMaxLayers = 10000;
  check(model.layers.size() <= kMaxLayers, label + ": model_config has " + std::to_string(model.layers.size()) +
                                               " layers (the limit is " + std::to_string(kMaxLayers) + ")");
  check_refs(model, label);
  return model;
}

}  // namespace tinyptq
