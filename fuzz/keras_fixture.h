// A small Keras 2.x functional model written with libhdf5 in the layout the importer reads (model_config,
// model_weights/layer_names, <layer>/weight_names, weight datasets). Seeds the Keras fuzz targets and
// provides the weights that fuzz_keras_config pairs with each fuzzed model_config.
#pragma once
#include <hdf5.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tinyptq::fuzz {

using nlohmann::json;

struct FixtureWeight {
  std::string var;
  Shape shape;
};

struct FixtureLayer {
  std::string class_name, name;
  json config;
  std::vector<std::string> inbound;
  std::vector<FixtureWeight> weights;
};

// Input 8×8×3 → conv1 → bn → relu ┐ and input → dw (depthwise, relu6) → skip (1×1) ┘ → add → relu6
// → pool (avg) → mp (max) → gap → reshape → dropout → dense (softmax); plus flatten of pool as 2nd output.
inline std::vector<FixtureLayer> fixture_model() {
  auto conv = [](int64_t filters, int64_t k, int64_t s, const char* pad) {
    return json{{"filters", filters}, {"kernel_size", {k, k}}, {"strides", {s, s}}, {"padding", pad},
                {"data_format", "channels_last"}, {"dilation_rate", {1, 1}}, {"groups", 1},
                {"activation", "linear"}, {"use_bias", true}};
  };
  std::vector<FixtureLayer> m;
  m.push_back({"InputLayer", "input_1", {{"batch_input_shape", {nullptr, 8, 8, 3}}, {"dtype", "float32"}}, {}, {}});
  m.push_back({"Conv2D", "conv1", conv(4, 3, 2, "same"), {"input_1"}, {{"kernel", {3, 3, 3, 4}}, {"bias", {4}}}});
  m.push_back({"BatchNormalization", "bn", {{"axis", json::array({3})}, {"epsilon", 0.001}}, {"conv1"},
               {{"gamma", {4}}, {"beta", {4}}, {"moving_mean", {4}}, {"moving_variance", {4}}}});
  m.push_back({"Activation", "relu", {{"activation", "relu"}}, {"bn"}, {}});
  m.push_back({"DepthwiseConv2D", "dw",
               {{"kernel_size", {3, 3}}, {"strides", {1, 1}}, {"padding", "same"}, {"depth_multiplier", 1},
                {"activation", "relu6"}, {"use_bias", false}},
               {"input_1"}, {{"depthwise_kernel", {3, 3, 3, 1}}}});
  m.push_back({"Conv2D", "skip", conv(4, 1, 2, "valid"), {"dw"}, {{"kernel", {1, 1, 3, 4}}, {"bias", {4}}}});
  m.push_back({"Add", "add", json::object(), {"relu", "skip"}, {}});
  m.push_back({"ReLU", "relu6", {{"max_value", 6.0}, {"negative_slope", 0.0}, {"threshold", 0.0}}, {"add"}, {}});
  m.push_back({"AveragePooling2D", "pool", {{"pool_size", {2, 2}}, {"strides", {1, 1}}, {"padding", "valid"}},
               {"relu6"}, {}});
  m.push_back({"MaxPooling2D", "mp", {{"pool_size", {2, 2}}, {"padding", "same"}}, {"pool"}, {}});
  m.push_back({"GlobalAveragePooling2D", "gap", {{"data_format", "channels_last"}}, {"mp"}, {}});
  m.push_back({"Reshape", "rs", {{"target_shape", json::array({-1})}}, {"gap"}, {}});
  m.push_back({"Dropout", "dropout", {{"rate", 0.5}}, {"rs"}, {}});
  m.push_back({"Dense", "dense", {{"units", 3}, {"activation", "softmax"}}, {"dropout"}, {{"kernel", {4, 3}}, {"bias", {3}}}});
  m.push_back({"Flatten", "flatten", json::object(), {"pool"}, {}});
  return m;
}

// model_config JSON (Keras 2.x functional layout) of a fixture model.
inline std::string fixture_config(const std::vector<FixtureLayer>& layers, const std::vector<std::string>& outputs) {
  json jl = json::array();
  for (const auto& l : layers) {
    json cfg = l.config;
    cfg["name"] = l.name;
    json node = json::array();
    for (const auto& in : l.inbound) node.push_back(json::array({in, 0, 0, json::object()}));
    jl.push_back({{"class_name", l.class_name}, {"config", cfg}, {"name", l.name},
                  {"inbound_nodes", l.inbound.empty() ? json::array() : json::array({node})}});
  }
  json outs = json::array();
  for (const auto& o : outputs) outs.push_back(json::array({o, 0, 0}));
  json model = {{"class_name", "Functional"},
                {"config", {{"name", "fixture"}, {"layers", jl},
                            {"input_layers", json::array({json::array({layers.front().name, 0, 0})})},
                            {"output_layers", outs}}}};
  return model.dump();
}

// Scalar variable-length string attribute, as h5py writes model_config.
inline void h5_string_attr(hid_t file, const std::string& object, const std::string& name, const std::string& value) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate_by_name(file, object.c_str(), name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT,
                                 H5P_DEFAULT);
  const char* p = value.c_str();
  if (attr < 0 || H5Awrite(attr, type, &p) < 0) std::abort();
  H5Aclose(attr), H5Sclose(space), H5Tclose(type);
}

// Fixed-length string list attribute (layer_names, weight_names); empty lists are 0-element float64.
inline void h5_string_list_attr(hid_t file, const std::string& object, const std::string& name,
                                const std::vector<std::string>& v) {
  hsize_t n = v.size();
  hid_t space = H5Screate_simple(1, &n, nullptr);
  size_t width = 1;
  for (const auto& s : v) width = std::max(width, s.size());
  hid_t type = v.empty() ? H5Tcopy(H5T_IEEE_F64LE) : H5Tcopy(H5T_C_S1);
  if (!v.empty()) H5Tset_size(type, width), H5Tset_strpad(type, H5T_STR_NULLPAD);
  hid_t attr = H5Acreate_by_name(file, object.c_str(), name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT,
                                 H5P_DEFAULT);
  if (attr < 0) std::abort();
  if (!v.empty()) {
    std::string buf(width * v.size(), '\0');
    for (size_t k = 0; k < v.size(); ++k) buf.replace(k * width, v[k].size(), v[k]);
    H5Awrite(attr, type, buf.data());
  }
  H5Aclose(attr), H5Sclose(space), H5Tclose(type);
}

// Writes the weights of `layers` (values 0.01·k, variances positive) and, unless empty, model_config.
inline void write_fixture_h5(const std::string& path, const std::vector<FixtureLayer>& layers,
                             const std::string& model_config) {
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0) std::abort();
  if (!model_config.empty()) h5_string_attr(file, "/", "model_config", model_config);
  h5_string_attr(file, "/", "keras_version", "2.4.0");
  H5Gclose(H5Gcreate2(file, "/model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  std::vector<std::string> names;
  for (const auto& l : layers) names.push_back(l.name);
  h5_string_list_attr(file, "/model_weights", "layer_names", names);
  for (const auto& l : layers) {
    const std::string group = "/model_weights/" + l.name;
    H5Gclose(H5Gcreate2(file, group.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    std::vector<std::string> weight_names;
    for (const auto& w : l.weights) {
      weight_names.push_back(l.name + "/" + w.var + ":0");
      std::vector<hsize_t> dims(w.shape.begin(), w.shape.end());
      std::vector<float> data(size_t(num_elements(w.shape)));
      for (size_t k = 0; k < data.size(); ++k) data[k] = 0.5f + 0.01f * float(k);
      hid_t space = H5Screate_simple(int(dims.size()), dims.data(), nullptr);
      hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
      H5Pset_create_intermediate_group(lcpl, 1);
      const std::string ds_path = group + "/" + weight_names.back();
      hid_t ds = H5Dcreate2(file, ds_path.c_str(), H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
      if (ds < 0) std::abort();
      H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data());
      H5Dclose(ds), H5Pclose(lcpl), H5Sclose(space);
    }
    h5_string_list_attr(file, group, "weight_names", weight_names);
  }
  H5Fclose(file);
}

}  // namespace tinyptq::fuzz
