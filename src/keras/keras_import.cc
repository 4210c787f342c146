#include "keras/keras_import.h"

#include <map>
#include <set>

#include "core/error.h"
#include "keras/h5_file.h"
#include "keras/h5_probe.h"
#include "keras/keras_weights.h"
#include "keras/layer_converters.h"
#include "keras/model_config.h"

namespace tinyptq {

namespace {

// Prefixes the file to a message that does not name it yet.
std::string in_file(const std::string& path, const std::string& message) {
  return message.rfind(path + ":", 0) == 0 ? message : path + ": " + message;
}

void check_supported(const KerasModel& model, const std::string& path) {
  std::string unsupported;
  for (const auto& layer : model.layers)
    if (!find_layer_converter(layer.class_name))
      unsupported += (unsupported.empty() ? "" : ", ") + ("'" + layer.name + "' (" + layer.class_name + ")");
  check(unsupported.empty(), path + ": unsupported Keras layer(s): " + unsupported +
                                 "; supported classes: " + supported_layer_classes());
}

// Converts layers once all their inputs are converted (model_config lists them in topological order in
// practice; the passes also accept any other order). Returns each layer's output value.
std::map<std::string, KerasValue> convert_layers(const KerasModel& model, ConvertContext& ctx,
                                                 const std::string& path) {
  std::map<std::string, KerasValue> values;
  std::vector<bool> done(model.layers.size(), false);
  for (size_t remaining = model.layers.size(); remaining > 0;) {
    size_t before = remaining;
    for (size_t k = 0; k < model.layers.size(); ++k) {
      const KerasLayer& layer = model.layers[k];
      if (done[k]) continue;
      std::vector<KerasValue> inputs;
      for (const auto& ref : layer.inbound) {
        auto it = values.find(ref.layer);
        if (it == values.end()) break;
        inputs.push_back(it->second);
      }
      if (inputs.size() != layer.inbound.size()) continue;
      check(!inputs.empty() || layer.class_name == "InputLayer",
            path + ": " + layer_label(layer) + " has no inputs");
      try {
        values.emplace(layer.name, find_layer_converter(layer.class_name)(layer, inputs, ctx));
        ctx.weights.check_all_read(layer);
      } catch (const Error& e) {
        throw Error(in_file(path, e.what()));
      }
      done[k] = true;
      --remaining;
    }
    if (remaining == before)
      for (size_t k = 0; k < model.layers.size(); ++k)
        if (!done[k]) throw Error(path + ": " + layer_label(model.layers[k]) + " is part of a cycle");
  }
  return values;
}

// Names each model output after its layer, in Keras' layout: image outputs go back to NHWC.
void add_outputs(const KerasModel& model, const std::map<std::string, KerasValue>& values,
                 ConvertContext& ctx, const std::string& path) {
  std::set<std::string> seen;
  for (const auto& ref : model.outputs) {
    const std::string& name = ref.layer;
    check(seen.insert(name).second, path + ": output layer '" + name + "' is listed twice");
    KerasValue v = values.at(name);
    Shape keras_shape = v.shape;
    if (v.shape.size() == 4) {
      if (v.name == name) {
        v.name = ctx.fresh(name + "/nchw");
        rename_value(ctx.graph, name, v.name);
      }
      Attrs attrs;
      attrs.perm = {0, 2, 3, 1};
      keras_shape = {v.shape[0], v.shape[2], v.shape[3], v.shape[1]};
      ctx.add_node(Op::kTranspose, ctx.fresh(name + "/to_nhwc"), {v.name}, attrs, name, keras_shape);
    } else if (v.name != name) {  // an identity layer (Dropout, linear Activation) is the output
      ctx.add_node(Op::kIdentity, ctx.fresh(name + "/Identity"), {v.name}, {}, name, keras_shape);
    }
    ctx.graph.outputs.push_back(ValueInfo{name, DType::kFloat32, keras_shape});
  }
}

// Graph inputs in the order of the model's input_layers.
void order_inputs(const KerasModel& model, Graph& graph, const std::string& path) {
  std::vector<ValueInfo> ordered;
  for (const auto& ref : model.inputs) {
    bool found = false;
    for (const auto& in : graph.inputs)
      if (in.name == ref.layer) ordered.push_back(in), found = true;
    check(found, path + ": model input '" + ref.layer + "' is not an InputLayer");
  }
  graph.inputs = std::move(ordered);
}

KerasImportResult import_in_process(const std::string& path) {
  H5File file(path);
  check(file.has_attribute("/", "model_config"),
        path + ": no model_config attribute (not a whole Keras model saved with model.save() as HDF5)");
  KerasImportResult result;
  if (file.has_attribute("/", "keras_version"))
    result.keras_version = file.read_string_attribute("/", "keras_version");
  KerasModel model = parse_keras_model_config(file.read_string_attribute("/", "model_config"), path);
  check_supported(model, path);
  KerasWeights weights(file);

  Graph& graph = result.graph;
  graph.name = model.name.empty() ? "keras_model" : model.name;
  std::set<std::string> layer_names;
  for (const auto& layer : model.layers) layer_names.insert(layer.name);
  ConvertContext ctx(graph, weights, layer_names);
  std::map<std::string, KerasValue> values = convert_layers(model, ctx, path);
  add_outputs(model, values, ctx, path);
  order_inputs(model, graph, path);
  graph.remove_dead();
  try {
    graph.validate_and_sort();
  } catch (const Error& e) {
    throw Error(in_file(path, e.what()));
  }
  result.keras_layers = int64_t(model.layers.size());
  return result;
}

// Real imports take well under a second; a damaged file may make libhdf5 loop forever.
constexpr int kImportCpuSeconds = 30;

}  // namespace

KerasImportResult import_keras_model(const std::string& path) {
  screen_in_child([&] { import_in_process(path); }, path, kImportCpuSeconds);
  return import_in_process(path);
}

Graph import_keras_h5(const std::string& path) { return import_keras_model(path).graph; }

}  // namespace tinyptq
