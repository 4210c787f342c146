#include "keras/keras_weights.h"

#include "core/error.h"
#include "core/strings.h"

namespace tinyptq {

namespace {

constexpr const char* kWeightsGroup = "model_weights";

// A Keras list attribute, also when saved in chunks <name>0, <name>1, ... (attributes over 64 KiB).
std::vector<std::string> read_name_list(const H5File& file, const std::string& object,
                                        const std::string& name) {
  if (file.has_attribute(object, name)) return file.read_string_list_attribute(object, name);
  std::vector<std::string> out;
  for (int chunk = 0; file.has_attribute(object, name + std::to_string(chunk)); ++chunk)
    for (auto& s : file.read_string_list_attribute(object, name + std::to_string(chunk))) out.push_back(s);
  return out;
}

// "conv2d/kernel:0" → "kernel".
std::string short_var_name(const std::string& weight_name) {
  size_t slash = weight_name.rfind('/');
  std::string s = slash == std::string::npos ? weight_name : weight_name.substr(slash + 1);
  size_t colon = s.rfind(':');
  if (colon != std::string::npos) s.resize(colon);
  return s;
}

// "a, b, c", or "none" when that is empty.
std::string names_or_none(const std::vector<std::string>& v) {
  const std::string s = join(v, ", ");
  return s.empty() ? "none" : s;
}

}  // namespace

KerasWeights::KerasWeights(const H5File& file) : file_(file) {
  check(file.has_object(kWeightsGroup),
        file.path() + ": no '" + kWeightsGroup + "' group (not a Keras model file?)");
  bool has_list =
      file.has_attribute(kWeightsGroup, "layer_names") || file.has_attribute(kWeightsGroup, "layer_names0");
  check(has_list, file.path() + ": " + kWeightsGroup + " has no layer_names attribute");
  for (auto& n : read_name_list(file, kWeightsGroup, "layer_names")) layer_names_.insert(n);
}

const std::map<std::string, std::string>& KerasWeights::layer_vars(const KerasLayer& layer) const {
  auto it = vars_.find(layer.name);
  if (it != vars_.end()) return it->second;
  std::map<std::string, std::string> vars;
  if (layer_names_.count(layer.name)) {
    const std::string group = std::string(kWeightsGroup) + "/" + layer.name;
    check(file_.has_object(group),
          file_.path() + ": " + layer_label(layer) + " is listed in layer_names but has no weight group");
    for (const auto& weight_name : read_name_list(file_, group, "weight_names")) {
      std::string var = short_var_name(weight_name);
      check(!var.empty() && vars.emplace(var, group + "/" + weight_name).second,
            file_.path() + ": " + layer_label(layer) + " stores weight '" + var + "' twice or unnamed");
    }
  }
  return vars_.emplace(layer.name, std::move(vars)).first->second;
}

std::vector<std::string> KerasWeights::names(const KerasLayer& layer) const {
  std::vector<std::string> out;
  for (const auto& [var, path] : layer_vars(layer)) out.push_back(var);
  return out;
}

bool KerasWeights::has(const KerasLayer& layer, const std::string& var) const {
  return layer_vars(layer).count(var) != 0;
}

Tensor KerasWeights::read(const KerasLayer& layer, const std::string& var, const Shape& expected_shape,
                          const std::string& meaning) const {
  const auto& vars = layer_vars(layer);
  auto it = vars.find(var);
  check(it != vars.end(), file_.path() + ": " + layer_label(layer) + ": missing weight '" + var +
                              "' (the file stores: " + names_or_none(names(layer)) + ")");
  Shape shape = file_.dataset_shape(it->second);
  check(shape == expected_shape, file_.path() + ": " + layer_label(layer) + ": weight '" + var +
                                     "' has shape " + shape_str(shape) + " but the layer config implies " +
                                     shape_str(expected_shape) + " (" + meaning + ")");
  read_[layer.name].insert(var);
  return file_.read_float_dataset(it->second, expected_shape);
}

void KerasWeights::check_all_read(const KerasLayer& layer) const {
  std::vector<std::string> unused;
  const auto& done = read_[layer.name];
  for (const auto& var : names(layer))
    if (!done.count(var)) unused.push_back(var);
  check(unused.empty(), file_.path() + ": " + layer_label(layer) +
                            " stores weights its config does not use: " + names_or_none(unused));
}

}  // namespace tinyptq
